/**
 * The evaluation protocol of the IAP-AS and SAA+ code (docs/method.md section 5), usable on any
 * method's maps:
 *
 *  1. each map is resized to resolution x resolution (default 400) with bicubic interpolation as
 *     OpenCV INTER_CUBIC, each ground-truth mask with nearest neighbour (then binary);
 *  2. the maps of a category are min-max normalised together (option);
 *  3. every pixel of every evaluated test image of the category is pooled; pixel AUROC, AP, F1-max
 *     and AUPRO are computed on the pool; image scores are the max of each resized map;
 *  4. a dataset's figure is the plain mean over its categories.
 *
 * Which test images are evaluated is an option: 'include' (the full test set), 'skip' (anomalous
 * images only), or 'reference' (what the reference code does: normal test images are kept for
 * MVTec AD only and skipped for every other dataset, so BTAD uses only `ko`).
 *
 * Maps are resized as they arrive into one pooled Float32Array per category, so a category never
 * holds more than one full-resolution map at a time. The metrics are exact (every pooled pixel is
 * sorted), so memory grows with images x resolution^2 (EVAL_BYTES_PER_PIXEL); a category that
 * would not fit is refused up front with an estimate rather than streamed into approximations.
 */
import { totalmem } from 'node:os';
import { basename } from 'node:path';
import { CONFIG_BASE_DEFAULTS, type BaseConfig, EVAL_CURVE_POINTS } from '../config/schema.js';
import type { LayoutName, Sample } from '../datasets/types.js';
import { labelComponents } from '../image/connected-components.js';
import { resizeBicubic, resizeNearest } from '../image/resize.js';
import type { AuproMode } from '../metrics/aupro.js';
import type { CategoryCurves } from '../metrics/curves.js';
import { pixelMetrics, rankingMetrics } from '../metrics/pixel-metrics.js';
import { UserError } from '../util/errors.js';
import { valueRange } from '../util/numeric.js';

export type NormalImages = 'include' | 'skip' | 'reference';

export interface ProtocolOptions {
  /** Maps and masks are resized to resolution x resolution before pooling. */
  resolution: number;
  /** Min-max normalise the maps over each category. */
  normalize: boolean;
  normalImages: NormalImages;
  aupro: AuproMode;
  fprLimit: number;
  /**
   * Most bytes one category's evaluation may take (see EVAL_BYTES_PER_PIXEL); a category that
   * would need more is refused before any map is read. Default: 3/4 of the physical memory.
   * Changes no result, so it is not part of reports.
   */
  memoryLimit?: number;
}

/** The protocol a config's `eval` section describes (its defaults are the schema's). */
export function protocolOf(e: BaseConfig['eval']): ProtocolOptions {
  return {
    resolution: e.resolution,
    normalize: e.normalize,
    normalImages: e.normals,
    aupro: e.aupro,
    fprLimit: e.fpr_limit,
    memoryLimit: e.max_memory_gb === undefined ? undefined : e.max_memory_gb * 2 ** 30,
  };
}

/**
 * Peak bytes per pooled pixel (images x resolution^2) of one category's evaluation: the pool
 * (float32 score + uint8 label = 5), the sort in `finish` (uint32 keys of every pixel, 4, plus the
 * radix sort's scratch copy of one label side, up to 4), and region indices of the anomalous
 * pixels (4 each, more while the list grows). Measured with eval/bench-eval-memory.ts (peak RSS
 * growth / pooled pixels, either AUPRO definition): 13.5 with no anomalous pixel, 14.4 with 5%,
 * 17.4 with 50%. 16 covers the anomalous fractions of the benchmarks (a few percent).
 */
export const EVAL_BYTES_PER_PIXEL = 16;

/** Bytes the evaluation of one category of `images` maps at `resolution` needs at its peak. */
export function evaluationBytes(images: number, resolution: number): number {
  return images * resolution * resolution * EVAL_BYTES_PER_PIXEL;
}

function gb(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/**
 * Refuses, with an estimate and what to change, a category whose evaluation would exceed the
 * memory limit (or the 2^31 - 1 pixels one pool can hold). Call before reading any map.
 */
export function checkEvaluationMemory(category: string, images: number, options: Pick<ProtocolOptions, 'resolution' | 'memoryLimit'>): void {
  const S = options.resolution;
  const pixels = images * S * S;
  const need = evaluationBytes(images, S);
  const limit = options.memoryLimit ?? 0.75 * totalmem();
  if (pixels <= 2 ** 31 - 1 && need <= limit) return;
  // The largest resolution that fits, rounded down to a multiple of 8.
  const fits = Math.floor(Math.sqrt(Math.min(limit / EVAL_BYTES_PER_PIXEL, 2 ** 31 - 1) / Math.max(1, images)) / 8) * 8;
  throw new UserError(
    `category ${category}: evaluating ${images} maps at ${S}x${S} needs about ${gb(need)} ` +
      `(${EVAL_BYTES_PER_PIXEL} bytes per pooled pixel${pixels > 2 ** 31 - 1 ? `, and ${pixels} pixels exceed the pool's 2^31 - 1` : ''}), ` +
      `more than the ${gb(limit)} allowed; lower --resolution` +
      (fits >= 8 ? ` (${fits} needs ${gb(evaluationBytes(images, fits))})` : '') +
      ` or raise the limit with --max-memory <GiB> (config eval.max_memory_gb)`,
  );
}

export const DEFAULT_PROTOCOL: ProtocolOptions = protocolOf(CONFIG_BASE_DEFAULTS.eval);

export function resolveProtocol(partial: Partial<ProtocolOptions> = {}): ProtocolOptions {
  const o = { ...DEFAULT_PROTOCOL, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) };
  if (!(Number.isInteger(o.resolution) && o.resolution > 0 && o.resolution <= 4096)) {
    throw new UserError(`evaluation resolution must be an integer in 1..4096, got ${o.resolution}`);
  }
  if (!['include', 'skip', 'reference'].includes(o.normalImages)) {
    throw new UserError(`normal images must be include, skip or reference, got '${o.normalImages}'`);
  }
  if (!(o.fprLimit > 0 && o.fprLimit <= 1)) throw new UserError(`AUPRO FPR limit must be in (0, 1], got ${o.fprLimit}`);
  if (o.memoryLimit !== undefined && !(o.memoryLimit > 0)) throw new UserError(`evaluation memory limit must be positive, got ${o.memoryLimit}`);
  return o;
}

/** Whether the reference code keeps normal test images for this dataset: MVTec AD only. */
export function referenceKeepsNormals(datasetName: string): boolean {
  return /mvtec/i.test(datasetName) && !/mvtec.?3d|mvtec.?loco/i.test(datasetName);
}

export interface SampleSelection {
  samples: Sample[];
  /** What `normalImages` resolved to for this dataset. */
  normalImages: 'include' | 'skip';
}

/**
 * The test samples of a category that the protocol evaluates. `datasetName` decides the 'reference'
 * mode (default: the dataset root's folder name, e.g. `mvtec_anomaly_detection`).
 */
export function selectTestSamples(
  samples: Sample[],
  category: string,
  mode: NormalImages,
  dataset: { root: string; layout?: LayoutName; name?: string },
): SampleSelection {
  const name = dataset.name ?? basename(dataset.root);
  const resolved = mode === 'reference' ? (referenceKeepsNormals(name) ? 'include' : 'skip') : mode;
  const picked = samples.filter(
    (s) => s.category === category && s.split === 'test' && (resolved === 'include' || s.label === 'anomalous'),
  );
  return { samples: picked, normalImages: resolved };
}

/** A map as any method produces it: row-major, one value per pixel. */
export interface MapInput {
  data: Float32Array | Float64Array | Uint8Array | Uint16Array | ArrayLike<number>;
  width: number;
  height: number;
  /**
   * The method's own image-level score, when it has one; the protocol's default image score is the
   * max of the resized map.
   */
  imageScore?: number;
}

/** A ground-truth mask (0/1), or null for a normal image (all zero). */
export interface MaskInput {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * A ground-truth mask on the evaluation grid: resized (nearest) to side x side, binary, with its
 * 8-connected regions. Depends only on the mask file and the resolution, so a sweep prepares it
 * once per dataset and every run pools the same object (src/evaluation/ground-truth.ts).
 */
export interface PreparedMask {
  side: number;
  /** 0/1, side x side, row-major. */
  labels: Uint8Array;
  /** Pixel count of each region. */
  regionArea: number[];
  /** Region index (into regionArea) of each positive pixel, in row-major order. */
  posRegion: Uint32Array;
  /** Size of the mask before resizing (for the size check against the map). */
  width: number;
  height: number;
}

function isPrepared(m: MaskInput | PreparedMask): m is PreparedMask {
  return (m as PreparedMask).posRegion !== undefined;
}

/** Resizes a mask to side x side (INTER_NEAREST), binarises it and labels its regions. */
export function prepareMask(mask: MaskInput, side: number, name = 'mask'): PreparedMask {
  if (mask.data.length !== mask.width * mask.height) throw new Error(`mask of ${name}: ${mask.data.length} values for ${mask.width}x${mask.height}`);
  const m = resizeNearest(mask.data, mask.width, mask.height, side, side);
  for (let i = 0; i < m.length; i++) m[i] = m[i] !== 0 ? 1 : 0;
  const { labels, components } = labelComponents(m, side, side);
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) n++;
  const posRegion = new Uint32Array(n);
  for (let i = 0, j = 0; i < labels.length; i++) if (labels[i] !== 0) posRegion[j++] = labels[i] - 1;
  return { side, labels: m, regionArea: components.map((c) => c.area), posRegion, width: mask.width, height: mask.height };
}

export interface CategoryMetrics {
  category: string;
  n_images: number;
  n_anomalous: number;
  n_normal: number;
  n_regions: number;
  pixel_auroc: number | null;
  pixel_ap: number | null;
  pixel_f1_max: number | null;
  aupro: number | null;
  image_auroc: number | null;
  image_ap: number | null;
  image_f1_max: number | null;
  /** Thresholds on the (normalised, if normalize) map values that reach F1-max. */
  pixel_f1_threshold: number | null;
  image_f1_threshold: number | null;
  /** Why a metric is null, or anything else worth knowing about this row. */
  notes: string[];
  /**
   * Pixel PR / ROC / PRO curves from the same sweep as the metrics, downsampled with the F1-max
   * point exact (src/metrics/curves.ts); absent in metrics.json files written before they existed.
   */
  curves?: CategoryCurves;
  /** Range of the category's resized maps before normalisation (the min-max that normalises them); null without images. */
  map_range?: { min: number; max: number } | null;
}

export const METRIC_KEYS = [
  'pixel_auroc',
  'pixel_ap',
  'pixel_f1_max',
  'aupro',
  'image_auroc',
  'image_ap',
  'image_f1_max',
] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** Column titles, as papers print them (terminal tables, the report). */
export const METRIC_LABELS: Record<MetricKey, string> = {
  pixel_auroc: 'P-AUROC',
  pixel_ap: 'P-AP',
  pixel_f1_max: 'P-F1max',
  aupro: 'AUPRO',
  image_auroc: 'I-AUROC',
  image_ap: 'I-AP',
  image_f1_max: 'I-F1max',
};

/**
 * Accumulates one category: `add` resizes a map (and its mask) into the pool at once; `finish`
 * normalises and computes. Pure (no IO), so the pipeline and tests can feed it in memory.
 */
export class CategoryEvaluator {
  private readonly side: number;
  private readonly scores: Float32Array;
  private readonly labels: Uint8Array;
  private posRegion: Uint32Array = new Uint32Array(1024);
  private nPos = 0;
  private readonly regionArea: number[] = [];
  private readonly imageScores: number[] = [];
  private readonly imageLabels: number[] = [];
  private count = 0;
  private givenImageScores = 0;
  private readonly names = new Set<string>();

  constructor(
    readonly category: string,
    /** Number of images that will be added (sizes the pool). */
    readonly capacity: number,
    readonly options: ProtocolOptions = DEFAULT_PROTOCOL,
  ) {
    this.side = options.resolution;
    const n = capacity * this.side * this.side;
    checkEvaluationMemory(category, capacity, options);
    this.scores = new Float32Array(n);
    this.labels = new Uint8Array(n);
  }

  get added(): number {
    return this.count;
  }

  /**
   * Adds one test image. `name` identifies it in errors (e.g. its relId or map path); `anomalous`
   * is the image label; `mask` null means no anomalous pixel. A mask already prepared for this
   * resolution (prepareMask, GroundTruthStore) is pooled as is: a sweep resizes each mask once.
   */
  add(name: string, anomalous: boolean, map: MapInput, mask: MaskInput | PreparedMask | null): void {
    if (this.count >= this.capacity) throw new Error(`category ${this.category}: more than the ${this.capacity} images announced`);
    if (this.names.has(name)) throw new Error(`category ${this.category}: ${name} added twice`);
    if (map.data.length !== map.width * map.height) {
      throw new UserError(`map ${name}: ${map.data.length} values for ${map.width}x${map.height}`);
    }
    let bad = 0;
    for (let i = 0; i < map.data.length; i++) if (!Number.isFinite(map.data[i])) bad++;
    if (bad > 0) throw new UserError(`map ${name}: ${bad} value(s) are NaN or infinite; metrics are undefined on such maps`);
    const S = this.side;
    const off = this.count * S * S;
    const out = this.scores.subarray(off, off + S * S);
    resizeBicubic(map.data, map.width, map.height, S, S, out);
    let max = -Infinity;
    for (let i = 0; i < out.length; i++) if (out[i] > max) max = out[i];
    if (map.imageScore !== undefined) {
      if (!Number.isFinite(map.imageScore)) throw new UserError(`map ${name}: image score ${map.imageScore} is not a finite number`);
      this.givenImageScores++;
      max = map.imageScore;
    }
    this.imageScores.push(max);
    this.imageLabels.push(anomalous ? 1 : 0);
    if (mask) {
      const prepared = isPrepared(mask) ? mask : prepareMask(mask, S, name);
      if (prepared.side !== S) throw new Error(`mask of ${name}: prepared for ${prepared.side}x${prepared.side}, the pool is ${S}x${S}`);
      this.labels.set(prepared.labels, off);
      const base = this.regionArea.length;
      for (const a of prepared.regionArea) this.regionArea.push(a);
      const pos = prepared.posRegion;
      if (this.nPos + pos.length > this.posRegion.length) {
        let size = this.posRegion.length;
        while (size < this.nPos + pos.length) size *= 2;
        const grown = new Uint32Array(size);
        grown.set(this.posRegion.subarray(0, this.nPos));
        this.posRegion = grown;
      }
      for (let i = 0; i < pos.length; i++) this.posRegion[this.nPos++] = base + pos[i];
    }
    this.names.add(name);
    this.count++;
  }

  finish(): CategoryMetrics {
    const S = this.side;
    const n = this.count * S * S;
    const scores = this.scores.subarray(0, n);
    const labels = this.labels.subarray(0, n);
    const imageScores = this.imageScores.slice();
    const notes: string[] = [];
    const mapRange = valueRange(scores);
    // Image scores given by the method are on their own scale: they are not normalised with the maps.
    const given = this.givenImageScores > 0;
    if (given) notes.push(`image scores given by the method for ${this.givenImageScores} of ${this.count} images (else max of the map)`);
    if (this.options.normalize && mapRange) {
      const lo = mapRange.min;
      const range = mapRange.max - lo;
      if (range > 0) {
        for (let i = 0; i < n; i++) scores[i] = (scores[i] - lo) / range;
        if (!given) for (let i = 0; i < imageScores.length; i++) imageScores[i] = Math.fround((imageScores[i] - lo) / range);
      } else {
        scores.fill(0);
        if (!given) imageScores.fill(0);
        notes.push('all maps are constant: normalised to 0');
      }
    }
    const nAnomalous = this.imageLabels.reduce((a, b) => a + b, 0);
    const px = pixelMetrics(
      { scores, labels, posRegion: this.posRegion.subarray(0, this.nPos), regionArea: this.regionArea },
      { aupro: this.options.aupro, fprLimit: this.options.fprLimit, curvePoints: EVAL_CURVE_POINTS },
    );
    if (this.count === 0) notes.push('no images evaluated');
    else if (this.nPos === 0) notes.push('no anomalous pixel: pixel metrics undefined');
    else if (this.nPos === n) notes.push('no normal pixel: pixel metrics undefined');
    const img = rankingMetrics(imageScores, this.imageLabels);
    if (this.count > 0 && (nAnomalous === 0 || nAnomalous === this.count)) {
      notes.push(`all evaluated images are ${nAnomalous === 0 ? 'normal' : 'anomalous'}: image metrics undefined`);
    }
    return {
      category: this.category,
      n_images: this.count,
      n_anomalous: nAnomalous,
      n_normal: this.count - nAnomalous,
      n_regions: this.regionArea.length,
      pixel_auroc: px.auroc,
      pixel_ap: px.ap,
      pixel_f1_max: px.f1Max,
      aupro: px.aupro,
      image_auroc: img.auroc,
      image_ap: img.ap,
      image_f1_max: img.f1Max,
      pixel_f1_threshold: px.f1Threshold,
      image_f1_threshold: img.f1Threshold,
      notes,
      curves: px.curves,
      map_range: mapRange,
    };
  }
}

