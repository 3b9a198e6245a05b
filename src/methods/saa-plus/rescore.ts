/**
 * SAA+'s saliency and confidence prompts (docs/method.md §2) on the masks of the kept boxes:
 *
 *   rescored_i = s_i * exp(w * mean saliency inside mask_i)   (w = `saa.saliency_weight`, 3;
 *                                                              an empty mask keeps s_i)
 *   keep the K masks with the highest rescored confidence     (K = `saa.top_k`; ties: first box)
 *   map = sum_k m_k * rescored_k / (1 + sum_k m_k)            (0 where no mask is)
 *
 * The map is not normalised per image; the evaluation normalises over the category.
 */

/** Mean of `map` over the set pixels of each mask (null for an empty mask). */
export function meanInside(masks: Uint8Array[], map: Float32Array): Array<number | null> {
  return masks.map((m) => {
    if (m.length !== map.length) throw new Error(`meanInside: mask of ${m.length} pixels for a map of ${map.length}`);
    let s = 0;
    let n = 0;
    for (let i = 0; i < m.length; i++) {
      if (m[i]) {
        s += map[i];
        n++;
      }
    }
    return n ? s / n : null;
  });
}

export function rescore(scores: number[], saliency: Array<number | null>, weight: number): number[] {
  if (scores.length !== saliency.length) throw new Error(`rescore: ${scores.length} scores but ${saliency.length} saliencies`);
  return scores.map((s, i) => (saliency[i] === null ? s : s * Math.exp(weight * saliency[i]!)));
}

/** Indices of the k highest values (ties: lower index first), in descending order of value. */
export function topK(values: number[], k: number): number[] {
  return values
    .map((v, i) => ({ v, i }))
    .sort((a, b) => b.v - a.v || a.i - b.i)
    .slice(0, k)
    .map((x) => x.i);
}

/** sum m*s / (1 + sum m) per pixel. */
export function confidenceMap(masks: Uint8Array[], scores: number[], width: number, height: number): Float32Array {
  if (masks.length !== scores.length) throw new Error(`confidenceMap: ${masks.length} masks but ${scores.length} scores`);
  const sum = new Float64Array(width * height);
  const count = new Float64Array(width * height);
  masks.forEach((m, k) => {
    if (m.length !== sum.length) throw new Error(`confidenceMap: mask ${k} has ${m.length} pixels, expected ${sum.length}`);
    for (let i = 0; i < m.length; i++) {
      if (m[i]) {
        sum[i] += scores[k];
        count[i] += 1;
      }
    }
  });
  return Float32Array.from(sum, (s, i) => s / (1 + count[i]));
}
