/**
 * What a comparison gallery shows for each test image, and in which order; pure. `iapas report`
 * (src/report/gallery-files.ts, drawn on canvases in the page) and `iapas compare`'s figures
 * (src/report/comparison-figures.ts, PNG) both use it, so the two show the same pictures in the same order:
 *
 *  - order: anomalous images first, then by how much the runs disagree, then by id;
 *  - disagreement of an image: the mean over pixels of the standard deviation across runs of
 *    their maps, each on its run's display scale, compared at a small common size;
 *  - display scale of a run's maps: the category min-max the evaluation normalised with
 *    (metrics.json `map_range`), so every run is drawn on one [0, 1] colour scale on which its
 *    F1-max threshold lies; the run's binary mask is its map at that threshold.
 */
import { resizeBilinear, resizeNearest } from '../image/resize.js';
import type { RgbImage } from '../image/types.js';
import { renderOverlay } from './overlay.js';

/** Mean of each block (area resampling) down to side x side. */
export function blockMean(src: ArrayLike<number>, w: number, h: number, side: number): Float32Array {
  const out = new Float32Array(side * side);
  const cnt = new Float32Array(side * side);
  for (let y = 0; y < h; y++) {
    const oy = Math.min(side - 1, Math.floor((y * side) / h));
    for (let x = 0; x < w; x++) {
      const o = oy * side + Math.min(side - 1, Math.floor((x * side) / w));
      out[o] += src[y * w + x];
      cnt[o]++;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = cnt[i] ? out[i] / cnt[i] : 0;
  return out;
}

/** Mean over pixels of the standard deviation across maps (all of one size, on one scale); 0 for fewer than two maps. */
export function disagreement(maps: Float32Array[]): number {
  if (maps.length < 2) return 0;
  const n = maps[0].length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (const a of maps) m += a[i];
    m /= maps.length;
    let v = 0;
    for (const a of maps) v += (a[i] - m) ** 2;
    sum += Math.sqrt(v / maps.length);
  }
  return sum / n;
}

/** Anomalous first, then by decreasing disagreement, then by id: deterministic. */
export function orderImages<T extends { label: string; disagreement: number; relId: string }>(images: T[]): T[] {
  return [...images].sort(
    (a, b) => Number(b.label === 'anomalous') - Number(a.label === 'anomalous') || b.disagreement - a.disagreement || a.relId.localeCompare(b.relId),
  );
}

/** Width and height that fit inside side x side with the aspect kept (never enlarged). */
export function fitSize(w: number, h: number, side: number): [number, number] {
  const s = Math.min(1, side / Math.max(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}

/** How one run's maps of one category are drawn: raw values min..max onto [0, 1], mask at `threshold` on that scale. */
export interface DisplayScale {
  min: number;
  max: number;
  /** F1-max threshold on the [0, 1] scale; null when the run has none (a category without anomalous pixels). */
  threshold: number | null;
}

/**
 * The display scale from what metrics.json says about a category: `range` (map_range, the raw range
 * the evaluation normalised with; `fallback` when absent, e.g. the range of the native maps) and
 * the F1-max threshold, which is on the normalised scale when the evaluation normalised and on raw
 * values otherwise.
 */
export function displayScale(range: { min: number; max: number }, f1Threshold: number | null, normalized: boolean): DisplayScale {
  const { min, max } = range;
  const threshold = f1Threshold === null ? null : normalized ? f1Threshold : max > min ? (f1Threshold - min) / (max - min) : 0;
  return { min, max, threshold };
}

/** A map on its display scale, clamped to [0, 1]. */
export function toDisplay(map: ArrayLike<number>, scale: DisplayScale): Float32Array {
  const span = scale.max > scale.min ? scale.max - scale.min : 1;
  const out = new Float32Array(map.length);
  for (let i = 0; i < map.length; i++) out[i] = Math.min(1, Math.max(0, (map[i] - scale.min) / span));
  return out;
}

/** Prompts in image pixels: boxes [x1, y1, x2, y2] with inclusive corners, points [x, y]. */
export interface TilePrompts {
  boxes: ReadonlyArray<readonly number[]>;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface TileInput {
  /** The image at tile size. */
  image: RgbImage;
  /** The run's map, any size (resized to the tile), and its display scale; absent for the image-only tile. */
  map?: { data: ArrayLike<number>; width: number; height: number; scale: DisplayScale };
  /** Ground truth, any size (nearest to the tile). */
  groundTruth?: { data: Uint8Array; width: number; height: number } | null;
  /** Prompts in the original image's pixels, and that image's size. */
  prompts?: TilePrompts & { width: number; height: number };
}

/**
 * One gallery tile at the image's size: the map as a heat map over the image, the ground-truth
 * outline, the run's mask at its F1-max threshold (outline) and its prompts.
 */
export function renderTile(t: TileInput): RgbImage {
  const { width: W, height: H } = t.image;
  let map: Float32Array | undefined;
  let prediction: Uint8Array | undefined;
  if (t.map) {
    map = toDisplay(resizeBilinear(t.map.data, t.map.width, t.map.height, W, H), t.map.scale);
    const thr = t.map.scale.threshold;
    if (thr !== null) prediction = Uint8Array.from(map, (v) => (v >= thr ? 1 : 0));
  }
  const gt = t.groundTruth ? resizeNearest(t.groundTruth.data, t.groundTruth.width, t.groundTruth.height, W, H) : undefined;
  const sx = t.prompts ? W / t.prompts.width : 1;
  const sy = t.prompts ? H / t.prompts.height : 1;
  return renderOverlay(t.image, {
    map,
    min: 0,
    max: 1,
    groundTruth: gt,
    prediction,
    boxes: t.prompts?.boxes.map((b) => [b[0] * sx, b[1] * sy, (b[2] + 1) * sx - 1, (b[3] + 1) * sy - 1]),
    points: t.prompts?.points.map((p) => [(p[0] + 0.5) * sx, (p[1] + 0.5) * sy] as [number, number]),
  });
}
