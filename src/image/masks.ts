/**
 * The IAP-AS score map and its per-image normalisation (docs/method.md §1 stage B 5).
 */

/** `sum_i s_i * m_i`: each binary mask adds its box score where it is set; overlaps add up. */
export function scoreMap(masks: Uint8Array[], scores: number[], width: number, height: number): Float32Array {
  if (masks.length !== scores.length) throw new Error(`scoreMap: ${masks.length} masks but ${scores.length} scores`);
  const out = new Float32Array(width * height);
  for (let i = 0; i < masks.length; i++) {
    const m = masks[i];
    if (m.length !== out.length) throw new Error(`scoreMap: mask ${i} has ${m.length} pixels, expected ${out.length}`);
    const s = scores[i];
    for (let p = 0; p < out.length; p++) if (m[p]) out[p] += s;
  }
  return out;
}

/** Min-max to [0, 1]; a constant map (including an empty one) becomes all zeros. */
export function minMaxNormalize(map: Float32Array): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const out = new Float32Array(map.length);
  if (!(hi > lo)) return out;
  const inv = 1 / (hi - lo);
  for (let i = 0; i < map.length; i++) out[i] = (map[i] - lo) * inv;
  return out;
}

/** Union of binary masks: the binary prediction of an image. */
export function unionMask(masks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (const m of masks) for (let p = 0; p < size; p++) if (m[p]) out[p] = 1;
  return out;
}

/** Normalised box area w*h/(W*H). */
export function boxArea(box: [number, number, number, number], width: number, height: number): number {
  return (Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1])) / (width * height);
}
