/**
 * Threshold policies that binarise a few-shot anomaly map (the seed names threshold choice as
 * the method's main weakness, so each is a named, explicit step):
 * - fixed: one value on the raw score scale (cosine distance, so backbone dependent).
 * - otsu: per image, the threshold that maximises the between-class variance of the map's
 *   histogram. It always splits the image in two, so a normal image still gets a foreground;
 *   `minOtsu` guards against that by never going below a floor.
 * - adaptive: per category, from the normal references' own scores. Each reference is scored
 *   leave-one-out against the other k-1 (see `leaveOneOutMaps` in memory-bank.ts), the scores of
 *   all its pixels are pooled, and the threshold is the `quantile` of that pool times `factor`.
 *   Scoring against k-1 references gives slightly larger distances than a query sees against k,
 *   so the policy errs towards fewer false positives on normal images.
 * Any policy may add `relative` (r): each connected region above the policy's threshold keeps
 * only its pixels above r * (the region's own peak) (see binariseWithPolicy). The policy value
 * then decides whether there is an anomalous region at all, and r how far a region extends around
 * its peak: a smoothed map spreads a small defect into a wide bump, and a low global threshold
 * turns the bump, not the defect, into the prompt box. Per region, so that a weaker second defect
 * is not lost to a stronger one.
 */
import { labelComponents } from '../../image/connected-components.js';
import { quantile, valueRange } from '../../util/numeric.js';
import { DEFAULT_ADAPTIVE, type ThresholdPolicy } from '../../config/threshold-policy.js';

// The policy strings and their parser live with the config schema, which validates them.
export { DEFAULT_ADAPTIVE, describeThresholdPolicy, parseThresholdPolicy, type ThresholdPolicy } from '../../config/threshold-policy.js';

/*
 * Measured on the shared samples (eval/bench-fewshot.ts, MobileNetV2 at 320 px, k = 4, SAM on,
 * <= 8 images per category, mean over MVTec AD (3 cat.), MPDD, MTD, KSDD1, hazelnut toy), as the
 * pooled F1 of the binary mask / pixel AP of the final map:
 *   fixed:0.3 61.9 / 63.5   adaptive:0.999 59.9 / 62.7   adaptive:0.99 47.8 / 62.1   otsu 24.9 / 61.6
 * Otsu splits every image, normal ones included, so its masks are mostly false positives. A fixed
 * value is backbone specific (0.3 gives empty masks on SAM embeddings, whose distances are
 * smaller) and was judged on the same data it is reported on; adaptive needs no tuning and is
 * within 2 points, so it is the default. The per-region relative cut changed nothing at 0.5 on
 * these data (defect peaks rarely exceed twice the reference maximum).
 */

/** Otsu's threshold over `bins` equal-width bins between the map's min and max. */
export function otsuThreshold(values: ArrayLike<number>, bins = 256): number {
  const { min: lo, max: hi } = valueRange(values) ?? { min: Infinity, max: -Infinity };
  if (!(hi > lo)) return hi;
  const hist = new Float64Array(bins);
  const scale = bins / (hi - lo);
  for (let i = 0; i < values.length; i++) {
    let b = Math.floor((values[i] - lo) * scale);
    if (b >= bins) b = bins - 1;
    hist[b]++;
  }
  const total = values.length;
  let sumAll = 0;
  for (let b = 0; b < bins; b++) sumAll += b * hist[b];
  let w0 = 0;
  let sum0 = 0;
  let bestVar = -1;
  let bestBin = 0;
  let tieEnd = 0;
  for (let b = 0; b < bins - 1; b++) {
    w0 += hist[b];
    sum0 += b * hist[b];
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = sum0 / w0;
    const m1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > bestVar * (1 + 1e-9)) {
      bestVar = between;
      bestBin = b;
      tieEnd = b;
    } else if (b === tieEnd + 1 && between >= bestVar * (1 - 1e-9)) {
      // Empty bins between two modes tie: the threshold goes to the middle of the gap.
      tieEnd = b;
    }
  }
  // Upper edge of the lower class's last bin (middle of a tied gap): values above it are foreground.
  return lo + ((bestBin + tieEnd) / 2 + 1) / scale;
}

/** Threshold of the adaptive policy from pooled leave-one-out reference scores. */
export function adaptiveThreshold(referenceScores: ArrayLike<number>, opts: { quantile?: number; factor?: number } = {}): number {
  const q = opts.quantile ?? DEFAULT_ADAPTIVE.quantile;
  const f = opts.factor ?? DEFAULT_ADAPTIVE.factor;
  return quantile(referenceScores, q) * f;
}

/**
 * The threshold a policy gives for one map. `categoryThreshold` is the adaptive policy's value,
 * computed once per category; required for that policy.
 */
export function thresholdFor(policy: ThresholdPolicy, map: ArrayLike<number>, categoryThreshold?: number): number {
  switch (policy.kind) {
    case 'fixed':
      return policy.value;
    case 'otsu':
      return Math.max(otsuThreshold(map, policy.bins ?? 256), policy.floor ?? -Infinity);
    case 'adaptive':
      if (categoryThreshold === undefined) throw new Error('adaptive threshold policy needs the category threshold (prepare the memory bank first)');
      return categoryThreshold;
  }
}

/** 1 where map > threshold. */
export function binarise(map: ArrayLike<number>, threshold: number): Uint8Array {
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) out[i] = map[i] > threshold ? 1 : 0;
  return out;
}

/**
 * Keeps, in each 8-connected region of `binary`, only the pixels above `relative` times the
 * region's peak map value (a region may split into several).
 */
export function relativeToPeaks(binary: Uint8Array, map: ArrayLike<number>, width: number, height: number, relative: number): Uint8Array {
  const { labels, components } = labelComponents(binary, width, height);
  const peak = new Float64Array(components.length).fill(-Infinity);
  for (let i = 0; i < labels.length; i++) if (labels[i] && map[i] > peak[labels[i] - 1]) peak[labels[i] - 1] = map[i];
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    // >= keeps the peak itself even when relative is 1.
    if (l && map[i] >= relative * peak[l - 1]) out[i] = 1;
  }
  return out;
}

/** map > policy threshold, then the per-region relative cut when the policy has one. */
export function binariseWithPolicy(
  map: ArrayLike<number>,
  width: number,
  height: number,
  policy: ThresholdPolicy,
  categoryThreshold?: number,
): { threshold: number; mask: Uint8Array } {
  const threshold = thresholdFor(policy, map, categoryThreshold);
  const mask = binarise(map, threshold);
  return { threshold, mask: policy.relative ? relativeToPeaks(mask, map, width, height, policy.relative) : mask };
}
