/** The per-image overlay: the image, optionally a translucent heat map, the mask outline, prompt boxes and points. */
import { heatmapRgb, type ColormapName } from './colormap.js';
import { blend, drawBox, drawPoint, maskOutline, paintPixels, type Colour } from './draw.js';
import type { RgbImage } from '../image/types.js';

export interface OverlayOptions {
  /** Predicted mask (0/1): drawn as an outline. */
  mask?: ArrayLike<number>;
  /** Ground-truth mask (0/1): drawn as a second outline. */
  groundTruth?: ArrayLike<number>;
  /** Anomaly map blended over the image with `mapAlpha`. */
  map?: ArrayLike<number>;
  mapAlpha?: number;
  colormap?: ColormapName;
  boxes?: ReadonlyArray<readonly number[]>;
  points?: ReadonlyArray<readonly [number, number]>;
  maskColour?: Colour;
  groundTruthColour?: Colour;
  boxColour?: Colour;
  /** Outline and box thickness in pixels (default: 1 per 256 px of the longer side, at least 1). */
  thickness?: number;
}

export function renderOverlay(image: RgbImage, opts: OverlayOptions = {}): RgbImage {
  const { width, height } = image;
  if (image.data.length !== width * height * 3) throw new Error(`renderOverlay: expected ${width}x${height}x3 bytes`);
  const t = opts.thickness ?? Math.max(1, Math.round(Math.max(width, height) / 256));
  let data: Uint8Array = image.data.slice();
  if (opts.map) {
    if (opts.map.length !== width * height) throw new Error('renderOverlay: map size differs from the image');
    data = blend(data, heatmapRgb(opts.map, { colormap: opts.colormap ?? 'jet' }), opts.mapAlpha ?? 0.45);
  }
  const out: RgbImage = { width, height, data };
  if (opts.groundTruth) paintPixels(out, maskOutline(opts.groundTruth, width, height, t), opts.groundTruthColour ?? [0, 255, 0]);
  if (opts.mask) paintPixels(out, maskOutline(opts.mask, width, height, t), opts.maskColour ?? [255, 0, 0]);
  for (const b of opts.boxes ?? []) drawBox(out, b, opts.boxColour ?? [255, 255, 0], t);
  for (const p of opts.points ?? []) drawPoint(out, p[0], p[1], opts.boxColour ?? [255, 255, 0], t + 1);
  return out;
}
