/**
 * Exposure matching (config `fewshot.exposure`): a line's lighting or camera gain drifts between
 * the day the references were taken and the day a part is tested, and the encoder's features move
 * with it: a uniformly brighter normal part then differs from every reference everywhere (on
 * the `brightness` stress set capsule's image AUROC fell to 0). Each image, references included,
 * is mapped by an affine transform v' = a v + b so that its value statistics equal the
 * references' pooled ones, before the encoder sees it.
 *
 * - 'gain': one a, b for all three channels, from the mean and standard deviation of all the
 *   image's values. It undoes a change of gain and offset exactly (up to clipping), and keeps
 *   the ratios between channels, so a colour defect stays a colour defect.
 * - 'range': one a, b for all channels as 'gain', but moving the image's mean and spread only as
 *   far as the nearest edge of the range the references' own means and spreads cover: an image
 *   exposed like one of the references is left as it is (the references always are), so the
 *   natural exposure variation of a line, and a defect that changes the brightness of a large
 *   part of a normal-looking image, are not corrected away.
 * - 'channel': a, b per channel (the classic colour transfer of first and second moments); it
 *   also undoes a white-balance drift, and can partly normalise away a large colour defect.
 * - 'quantile': one a, b for all channels as 'gain', from the 5 %, 50 % and 95 % quantiles of
 *   all values instead of mean and spread (a = ratio of the 5-95 % ranges, b from the medians):
 *   a small dark or bright defect moves a quantile far less than it moves the spread.
 * - 'histogram': one monotone look-up table for all channels that maps the image's value
 *   distribution onto the references' (histogram matching). It is not limited to an affine map,
 *   so it also places the values of an image whose shadows or highlights were clipped (a dark
 *   part under a negative offset) where the references have them.
 *
 * The gain is kept within [1 / MAX_GAIN, MAX_GAIN]: a nearly flat image (std near 0) would
 * otherwise have its sensor noise stretched to the references' contrast.
 */
import type { RgbImage } from '../../image/types.js';

export const EXPOSURE_MODES = ['none', 'gain', 'range', 'channel', 'quantile', 'histogram'] as const;
export type ExposureMode = (typeof EXPOSURE_MODES)[number];

/** Per-channel mean and standard deviation of 8-bit values, and the same over all channels. */
export interface ExposureStats {
  mean: [number, number, number];
  std: [number, number, number];
  allMean: number;
  allStd: number;
  /** 5 %, 50 % and 95 % quantiles of all values (lower value of the 256-bin histogram). */
  allQuantiles: [number, number, number];
  /** Share of all values at each level 0..255 (sums to 1). */
  histogram: Float64Array;
  /** Lowest and highest mean and spread of all values over the images one at a time (referenceExposure). */
  range?: { mean: [number, number]; std: [number, number] };
}

/** The references' pooled statistics with the range of their per-image means and spreads. */
export function referenceExposure(images: readonly RgbImage[]): ExposureStats {
  const each = images.map((i) => exposureStats([i]));
  const span = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
  return { ...exposureStats(images), range: { mean: span(each.map((e) => e.allMean)), std: span(each.map((e) => e.allStd)) } };
}

export const MAX_GAIN = 2;

/** Value statistics of one or more images pooled (every pixel of every image counts once). */
export function exposureStats(images: readonly RgbImage[]): ExposureStats {
  if (images.length === 0) throw new Error('exposureStats: no images');
  const hist = new Float64Array(256);
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  let n = 0;
  for (const img of images) {
    const d = img.data;
    for (let i = 0; i < d.length; i += 3) {
      for (let c = 0; c < 3; c++) {
        const v = d[i + c];
        hist[v]++;
        sum[c] += v;
        sq[c] += v * v;
      }
    }
    n += d.length / 3;
  }
  const mean = sum.map((s) => s / n) as [number, number, number];
  const std = sq.map((s, c) => Math.sqrt(Math.max(0, s / n - mean[c] * mean[c]))) as [number, number, number];
  const allMean = (sum[0] + sum[1] + sum[2]) / (3 * n);
  const allStd = Math.sqrt(Math.max(0, (sq[0] + sq[1] + sq[2]) / (3 * n) - allMean * allMean));
  const q = (p: number) => {
    const want = p * 3 * n;
    let acc = 0;
    for (let v = 0; v < 256; v++) if ((acc += hist[v]) >= want) return v;
    return 255;
  };
  const histogram = hist.map((h) => h / (3 * n));
  return { mean, std, allMean, allStd, allQuantiles: [q(0.05), q(0.5), q(0.95)], histogram };
}

/**
 * Histogram matching: level v goes to the lowest target level whose cumulative share reaches the
 * source's cumulative share at the middle of v's bin (so a level holding much of the image maps to
 * the middle of the target range it has to cover, not to its start).
 */
export function matchingTable(source: Float64Array, target: Float64Array): Uint8Array {
  const lut = new Uint8Array(256);
  let below = 0;
  let u = 0;
  let cdfT = target[0];
  for (let v = 0; v < 256; v++) {
    const want = below + source[v] / 2;
    while (u < 255 && cdfT < want - 1e-12) cdfT += target[++u];
    lut[v] = u;
    below += source[v];
  }
  return lut;
}

/** The per-channel affine maps (a, b) that take `source` statistics to `target`'s under an affine mode. */
export function exposureTransform(source: ExposureStats, target: ExposureStats, mode: Exclude<ExposureMode, 'none' | 'histogram'>): Array<{ a: number; b: number }> {
  const clamp = (v: number, [lo, hi]: [number, number]) => Math.min(hi, Math.max(lo, v));
  const fit = (srcMean: number, srcStd: number, dstMean: number, dstStd: number) => {
    const a = Math.min(MAX_GAIN, Math.max(1 / MAX_GAIN, srcStd > 1e-6 ? dstStd / srcStd : 1));
    return { a, b: dstMean - a * srcMean };
  };
  if (mode === 'range') {
    if (!target.range) throw new Error("exposure 'range' needs the references' range (referenceExposure)");
    const t = fit(source.allMean, source.allStd, clamp(source.allMean, target.range.mean), clamp(source.allStd, target.range.std));
    return [t, t, t];
  }
  if (mode === 'quantile') {
    const [s5, s50, s95] = source.allQuantiles;
    const [t5, t50, t95] = target.allQuantiles;
    const t = fit(s50, s95 - s5, t50, t95 - t5);
    return [t, t, t];
  }
  if (mode === 'gain') {
    const t = fit(source.allMean, source.allStd, target.allMean, target.allStd);
    return [t, t, t];
  }
  return [0, 1, 2].map((c) => fit(source.mean[c], source.std[c], target.mean[c], target.std[c]));
}

/** The image with its exposure matched to `target` (a new image; 'none' returns it unchanged). */
export function matchExposure(image: RgbImage, target: ExposureStats, mode: ExposureMode): RgbImage {
  if (mode === 'none') return image;
  const source = exposureStats([image]);
  let lut: Uint8Array[];
  if (mode === 'histogram') {
    const one = matchingTable(source.histogram, target.histogram);
    lut = [one, one, one];
  } else {
    lut = exposureTransform(source, target, mode).map(({ a, b }) => Uint8Array.from({ length: 256 }, (_, v) => Math.max(0, Math.min(255, Math.round(a * v + b)))));
  }
  const src = image.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    out[i] = lut[0][src[i]];
    out[i + 1] = lut[1][src[i + 1]];
    out[i + 2] = lut[2][src[i + 2]];
  }
  return { width: image.width, height: image.height, data: out };
}
