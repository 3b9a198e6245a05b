/**
 * The per-image overlay: the anomaly map as a heat map OVER the image (not instead of it), with
 * ground-truth and prediction outlines and the prompts. Pure, on RgbImage buffers; `iapas
 * segment` / `iapas demo` write it, and the report's page draws its gallery tiles in the same
 * style (OVERLAY_STYLE travels into the page, src/report/assets/report.js).
 *
 * What keeps it readable:
 *  - the image stays (slightly desaturated, so the heat colours read as heat and not as the
 *    object's own colour);
 *  - the heat map's opacity grows with the score: below `floor` it is transparent, so normal
 *    regions show the image itself, and it reaches `alpha` at `full`;
 *  - outlines are two-tone, a bright core over a dark halo, so they stand out on dark and bright
 *    images and on every heat colour; their width follows the output size (draw at the final
 *    resolution: resize first, then outline);
 *  - prompt boxes and points get the same halo.
 */
import { colourAt, type ColormapName } from './colormap.js';
import type { Colour } from './draw.js';
import type { RgbImage } from '../image/types.js';

/** The overlay's look, shared with the report page's canvas renderer. */
export const OVERLAY_STYLE = {
  colormap: 'jet' as ColormapName,
  alpha: 0.65,
  floor: 0.08,
  full: 0.5,
  saturation: 0.6,
  groundTruth: [40, 255, 80] as Colour,
  prediction: [255, 40, 200] as Colour,
  prompt: [255, 230, 0] as Colour,
  halo: [0, 0, 0] as Colour,
  /** Outline core width = max(1, round(longer side / pxPerLine)). */
  pxPerLine: 120,
};

export interface OverlayOptions {
  /** Anomaly map, image size, row-major; values are mapped to [0, 1] with min / max. */
  map?: ArrayLike<number>;
  /** Colour-scale range (default: the map's own). Give one range per category so its images compare. */
  min?: number;
  max?: number;
  colormap?: ColormapName;
  /** Opacity of the heat map at the top of the scale. */
  alpha?: number;
  /** Scores below this fraction of the scale are transparent ... */
  floor?: number;
  /** ... and the opacity ramps linearly up to `alpha` at this fraction. */
  full?: number;
  /** Image saturation kept under the heat map: 0 grey, 1 unchanged. */
  saturation?: number;
  /** Ground-truth mask (0/1): green outline. */
  groundTruth?: ArrayLike<number>;
  /** Predicted mask (0/1): magenta outline. */
  prediction?: ArrayLike<number>;
  /** Prompt boxes [x1, y1, x2, y2], corners inclusive (src/image/types.ts Box). */
  boxes?: ReadonlyArray<readonly number[]>;
  /** Prompt points [x, y]. */
  points?: ReadonlyArray<readonly [number, number]>;
  groundTruthColour?: Colour;
  predictionColour?: Colour;
  promptColour?: Colour;
  haloColour?: Colour;
  /** Outline core width in pixels (default max(1, round(longer side / OVERLAY_STYLE.pxPerLine))). */
  thickness?: number;
}

/** Pixels within `radius` (Chebyshev) of an edge pixel of the mask, on both sides of the edge. */
export function outlineBand(mask: ArrayLike<number>, width: number, height: number, radius: number): Uint8Array {
  const edge = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width]) edge[i] = 1;
    }
  }
  return dilate(edge, width, height, radius);
}

/** Square dilation by `r`, separable (a row pass then a column pass). */
function dilate(m: Uint8Array, width: number, height: number, r: number): Uint8Array {
  if (r <= 0) return m;
  const rows = new Uint8Array(m.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!m[y * width + x]) continue;
      rows.fill(1, y * width + Math.max(0, x - r), y * width + Math.min(width - 1, x + r) + 1);
    }
  }
  const out = new Uint8Array(m.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!rows[y * width + x]) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(height - 1, y + r); yy++) out[yy * width + x] = 1;
    }
  }
  return out;
}

function paint(data: Uint8Array, where: Uint8Array, c: Colour): void {
  for (let i = 0; i < where.length; i++) {
    if (!where[i]) continue;
    data[3 * i] = c[0];
    data[3 * i + 1] = c[1];
    data[3 * i + 2] = c[2];
  }
}

/** The `t` innermost pixel rings of a box whose corners are its first and last pixel. */
function boxRing(width: number, height: number, box: readonly number[], t: number): Uint8Array {
  const m = new Uint8Array(width * height);
  const x0 = Math.max(0, Math.floor(box[0]));
  const y0 = Math.max(0, Math.floor(box[1]));
  const x1 = Math.min(width - 1, Math.floor(box[2]));
  const y1 = Math.min(height - 1, Math.floor(box[3]));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (x - x0 < t || x1 - x < t || y - y0 < t || y1 - y < t) m[y * width + x] = 1;
    }
  }
  return m;
}

/** The composed overlay, same size as the image; the input is not changed. */
export function renderOverlay(image: RgbImage, opts: OverlayOptions = {}): RgbImage {
  const { width, height } = image;
  const n = width * height;
  if (image.data.length !== n * 3) throw new Error(`renderOverlay: expected ${width}x${height}x3 bytes, got ${image.data.length}`);
  const data = new Uint8Array(n * 3);
  const sat = opts.saturation ?? OVERLAY_STYLE.saturation;
  for (let i = 0; i < n; i++) {
    const r = image.data[3 * i];
    const g = image.data[3 * i + 1];
    const b = image.data[3 * i + 2];
    const l = 0.299 * r + 0.587 * g + 0.114 * b;
    data[3 * i] = Math.round(l + (r - l) * sat);
    data[3 * i + 1] = Math.round(l + (g - l) * sat);
    data[3 * i + 2] = Math.round(l + (b - l) * sat);
  }
  if (opts.map) {
    const map = opts.map;
    if (map.length !== n) throw new Error(`renderOverlay: the map has ${map.length} values for a ${width}x${height} image`);
    let lo = opts.min;
    let hi = opts.max;
    if (lo === undefined || hi === undefined) {
      let a = Infinity;
      let b = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = map[i];
        if (!Number.isFinite(v)) continue;
        if (v < a) a = v;
        if (v > b) b = v;
      }
      lo ??= a;
      hi ??= b;
    }
    const span = hi > lo ? hi - lo : 1;
    const alpha = opts.alpha ?? OVERLAY_STYLE.alpha;
    const floor = opts.floor ?? OVERLAY_STYLE.floor;
    const top = Math.max(floor + 1e-6, opts.full ?? OVERLAY_STYLE.full);
    const lut = new Uint8Array(256 * 3);
    for (let k = 0; k < 256; k++) lut.set(colourAt(opts.colormap ?? OVERLAY_STYLE.colormap, k / 255), 3 * k);
    for (let i = 0; i < n; i++) {
      const t = Math.min(1, Math.max(0, (map[i] - lo) / span));
      if (!(t > floor)) continue;
      const a = alpha * Math.min(1, (t - floor) / (top - floor));
      const k = Math.round(t * 255);
      for (let c = 0; c < 3; c++) data[3 * i + c] = Math.round(data[3 * i + c] * (1 - a) + lut[3 * k + c] * a);
    }
  }
  const t = opts.thickness ?? Math.max(1, Math.round(Math.max(width, height) / OVERLAY_STYLE.pxPerLine));
  const coreR = Math.floor((t - 1) / 2);
  const layers: Array<{ core: Uint8Array; colour: Colour }> = [];
  if (opts.groundTruth) layers.push({ core: outlineBand(opts.groundTruth, width, height, coreR), colour: opts.groundTruthColour ?? OVERLAY_STYLE.groundTruth });
  if (opts.prediction) layers.push({ core: outlineBand(opts.prediction, width, height, coreR), colour: opts.predictionColour ?? OVERLAY_STYLE.prediction });
  const promptColour = opts.promptColour ?? OVERLAY_STYLE.prompt;
  for (const b of opts.boxes ?? []) layers.push({ core: boxRing(width, height, b, Math.max(1, coreR + 1)), colour: promptColour });
  for (const p of opts.points ?? []) {
    const m = new Uint8Array(n);
    const px = Math.floor(p[0]);
    const py = Math.floor(p[1]);
    if (px >= 0 && py >= 0 && px < width && py < height) m[py * width + px] = 1;
    layers.push({ core: dilate(m, width, height, t + 1), colour: promptColour });
  }
  // Every halo first, then the cores, so no halo hides another outline's core.
  const halo = opts.haloColour ?? OVERLAY_STYLE.halo;
  for (const l of layers) paint(data, dilate(l.core, width, height, Math.max(1, Math.ceil(t / 2))), halo);
  for (const l of layers) paint(data, l.core, l.colour);
  return { width, height, data };
}
