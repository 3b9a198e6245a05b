/**
 * AUPRO: normalised area under the per-region overlap (PRO) curve up to a false-positive-rate limit
 * (default 0.3). Ground-truth regions are the 8-connected components of each image's mask
 * (src/image/connected-components.ts). At a threshold t, a pixel is predicted anomalous when its score
 * passes t; PRO(t) is the mean over all regions of the category of |region AND predicted| / |region|,
 * and FPR(t) is the fraction of normal pixels predicted anomalous.
 *
 * Two definitions are in common use and give different numbers; both are offered:
 *
 * - 'grid' (DEFAULT; the SAA+ / APRIL-GAN / IAP-AS evaluation code): 200 thresholds
 *   t_k = max - k (max - min) / 200, k = 0..199, over the pooled scores, predicted when score > t_k.
 *   Thresholds are computed in float64 (what numpy 1.x does for float32 maps).
 *   Keep the points with FPR <= limit, rescale their FPRs min-max to [0, 1] (so the axis ends at the
 *   largest FPR reached below the limit, not at the limit itself), and integrate PRO with the
 *   trapezoidal rule. When every kept FPR is equal (e.g. a perfect or a constant binary map) the
 *   reference divides by zero; here the value is the PRO at the last kept threshold (the height of
 *   the degenerate, flat curve). The reference intersects the prediction with each region's
 *   hole-filled shape; this uses the region's own pixels (identical for regions without holes).
 *
 * - 'exact' (alias 'anomalib'; the MVTec AD evaluation code's definition, which anomalib's
 *   per-region ROC interpolation approximates): a point at every distinct score (predicted when
 *   score >= t) starting from (0, 0); the curve is integrated up to FPR = limit, with PRO linearly
 *   interpolated at the limit, and the area divided by the limit. anomalib's resampling of each
 *   region's curve onto a shared index grid is not reproduced, so its values can differ in the
 *   third decimal.
 *
 * Undefined (`null`) when the category has no anomalous region or no normal pixel.
 */
import { countAbove, keyToScore, MetricInputError, type SortedScores, sweepThresholds, thresholdKey } from './ranking.js';

export type AuproMode = 'grid' | 'exact';

export function parseAuproMode(s: string): AuproMode {
  if (s === 'grid') return 'grid';
  if (s === 'exact' || s === 'anomalib' || s === 'mvtec') return 'exact';
  throw new MetricInputError(`unknown AUPRO definition '${s}' (use grid or exact)`);
}

/** Pooled pixels with their ground-truth regions, as the protocol builds them. */
export interface RegionPixels {
  scores: Float32Array;
  labels: Uint8Array;
  /** Region index (0-based, over the whole pool) of every positive pixel, in pixel order. */
  posRegion: Uint32Array;
  /** Pixel count of each region. */
  regionArea: ArrayLike<number>;
}

/** 1 / (R * area_r) per region: the contribution of one pixel of region r to the mean overlap. */
export function regionWeights(regionArea: ArrayLike<number>): Float64Array {
  const R = regionArea.length;
  const w = new Float64Array(R);
  for (let r = 0; r < R; r++) w[r] = 1 / (R * regionArea[r]);
  return w;
}

/** Accumulates the exact PRO curve from a descending threshold sweep. */
export class ExactProAccumulator {
  private area = 0;
  private f0 = 0;
  private p0 = 0;
  private done = false;

  constructor(
    private readonly N: number,
    private readonly R: number,
    private readonly limit = 0.3,
  ) {
    if (!(limit > 0 && limit <= 1)) throw new MetricInputError(`AUPRO FPR limit must be in (0, 1], got ${limit}`);
  }

  /** fp: normal pixels predicted so far; pro: mean region overlap so far (already divided by R). */
  step(fp: number, pro: number): void {
    if (this.done) return;
    const fpr = fp / this.N;
    if (fpr <= this.limit) {
      this.area += ((fpr - this.f0) * (pro + this.p0)) / 2;
      this.f0 = fpr;
      this.p0 = pro;
      if (fpr === this.limit) this.done = true;
      return;
    }
    const atLimit = this.p0 + ((pro - this.p0) * (this.limit - this.f0)) / (fpr - this.f0);
    this.area += ((this.limit - this.f0) * (this.p0 + atLimit)) / 2;
    this.f0 = this.limit;
    this.done = true;
  }

  value(): number | null {
    if (this.N === 0 || this.R === 0) return null;
    return this.area / this.limit;
  }
}

/** Exact AUPRO from already sorted scores (regions carried as the positives' payload). */
export function auproExactSorted(sorted: SortedScores, regionArea: ArrayLike<number>, limit = 0.3): number | null {
  const R = regionArea.length;
  const acc = new ExactProAccumulator(sorted.N, R, limit);
  if (R === 0 || sorted.N === 0) return null;
  const w = regionWeights(regionArea);
  sweepThresholds(sorted, (_tp, fp, weight) => acc.step(fp, weight), w);
  return acc.value();
}

export interface GridCurve {
  thresholds: Float64Array;
  fpr: Float64Array;
  pro: Float64Array;
}

/** The reference's 200-threshold PRO curve, in one pass over the pixels (a histogram per step). */
export function gridProCurve(px: RegionPixels, steps = 200): GridCurve {
  const { scores, labels, posRegion } = px;
  if (scores.length !== labels.length) throw new MetricInputError('AUPRO: scores and labels differ in length');
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (Number.isNaN(s)) throw new MetricInputError(`score ${i} is NaN; AUPRO is undefined on NaN maps`);
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const delta = (max - min) / steps;
  const thresholds = new Float64Array(steps);
  for (let k = 0; k < steps; k++) thresholds[k] = max - k * delta;
  const w = regionWeights(px.regionArea);
  // negAt[k] / proAt[k]: pixels whose first passing threshold is t_k.
  const negAt = new Float64Array(steps);
  const proAt = new Float64Array(steps);
  let nNeg = 0;
  let p = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    const pos = labels[i] !== 0;
    const region = pos ? posRegion[p++] : 0;
    if (!pos) nNeg++;
    if (delta === 0 || !(s > thresholds[steps - 1])) continue;
    let k = Math.floor((max - s) / delta) + 1;
    if (k > steps - 1) k = steps - 1;
    if (k < 0) k = 0;
    while (k > 0 && s > thresholds[k - 1]) k--;
    while (!(s > thresholds[k])) k++;
    if (pos) proAt[k] += w[region];
    else negAt[k]++;
  }
  if (p !== posRegion.length) throw new MetricInputError(`AUPRO: ${posRegion.length} region entries for ${p} positive pixels`);
  const fpr = new Float64Array(steps);
  const pro = new Float64Array(steps);
  let fp = 0;
  let pr = 0;
  for (let k = 0; k < steps; k++) {
    fp += negAt[k];
    pr += proAt[k];
    fpr[k] = nNeg === 0 ? 0 : fp / nNeg;
    pro[k] = pr;
  }
  return { thresholds, fpr, pro };
}

/**
 * The same 200-threshold curve from already sorted scores (regions carried as payload): a binary
 * search per threshold for the normal pixels and one walk down the positives. The histogram pass
 * above needs no sort; this one is nearly free once the shared sort is done.
 */
export function gridProCurveSorted(s: SortedScores, regionArea: ArrayLike<number>, steps = 200): GridCurve {
  const { neg, pos, posRegion } = s;
  if (!posRegion) throw new Error('gridProCurveSorted: sorted positives need their region indices');
  const lo = Math.min(neg.length ? keyToScore(neg[0]) : Infinity, pos.length ? keyToScore(pos[0]) : Infinity);
  const hi = Math.max(neg.length ? keyToScore(neg[neg.length - 1]) : -Infinity, pos.length ? keyToScore(pos[pos.length - 1]) : -Infinity);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new MetricInputError('AUPRO: scores must be finite');
  const delta = (hi - lo) / steps;
  const w = regionWeights(regionArea);
  const thresholds = new Float64Array(steps);
  const fpr = new Float64Array(steps);
  const pro = new Float64Array(steps);
  let j = pos.length - 1;
  let pr = 0;
  for (let k = 0; k < steps; k++) {
    const t = hi - k * delta;
    thresholds[k] = t;
    const kb = thresholdKey(t);
    fpr[k] = neg.length === 0 ? 0 : countAbove(neg, kb) / neg.length;
    while (j >= 0 && pos[j] > kb) {
      pr += w[posRegion[j]];
      j--;
    }
    pro[k] = pr;
  }
  return { thresholds, fpr, pro };
}

/** AUPRO with the reference's 200-threshold grid (see the definition above). */
export function auproGrid(px: RegionPixels, limit = 0.3, steps = 200): number | null {
  const R = px.regionArea.length;
  const nPos = px.posRegion.length;
  if (R === 0 || nPos === px.scores.length) return null;
  return auproFromGridCurve(gridProCurve(px, steps), limit);
}

/** AUPRO (grid definition) from sorted scores; see auproGrid. */
export function auproGridSorted(s: SortedScores, regionArea: ArrayLike<number>, limit = 0.3, steps = 200): number | null {
  if (regionArea.length === 0 || s.N === 0) return null;
  return auproFromGridCurve(gridProCurveSorted(s, regionArea, steps), limit);
}

/** The reference's integration of a grid curve: keep FPR <= limit, rescale min-max, trapezoids. */
export function auproFromGridCurve(curve: GridCurve, limit = 0.3): number {
  const { fpr, pro } = curve;
  const steps = fpr.length;
  let lo = Infinity;
  let hi = -Infinity;
  let last = -1;
  for (let k = 0; k < steps; k++) {
    if (fpr[k] <= limit) {
      if (fpr[k] < lo) lo = fpr[k];
      if (fpr[k] > hi) hi = fpr[k];
      last = k;
    }
  }
  if (last < 0) return 0;
  if (hi === lo) return pro[last];
  let area = 0;
  let x0 = Number.NaN;
  let y0 = 0;
  for (let k = 0; k < steps; k++) {
    if (!(fpr[k] <= limit)) continue;
    const x = (fpr[k] - lo) / (hi - lo);
    if (!Number.isNaN(x0)) area += ((x - x0) * (pro[k] + y0)) / 2;
    x0 = x;
    y0 = pro[k];
  }
  return area;
}
