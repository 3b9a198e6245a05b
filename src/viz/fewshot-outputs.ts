/** The per-image PNGs of the few-shot preset: heat map, binary mask, overlay (outline + prompt boxes/points). */
import type { ColormapName } from './colormap.js';
import { writeHeatmapPng, writeMaskPng, writeOverlayPng } from './write.js';
import type { RgbImage } from '../image/types.js';

export interface FewshotLike {
  width: number;
  height: number;
  map: Float32Array;
  mask: Uint8Array;
  prompts: ReadonlyArray<{ box: readonly number[]; point: readonly [number, number] }>;
}

export interface FewshotPngPaths {
  heatmap: string;
  mask: string;
  overlay: string;
}

/**
 * Writes `<prefix>_heatmap.png`, `<prefix>_mask.png` and `<prefix>_overlay.png`. The heat map is
 * scaled to [0, maxValue] when given (use one value per category so that maps compare), else to
 * the map's own range. A ground-truth mask, when given, is outlined in green on the overlay.
 */
export async function writeFewshotPngs(
  prefix: string,
  image: RgbImage,
  result: FewshotLike,
  opts: { colormap?: ColormapName; maxValue?: number; groundTruth?: Uint8Array } = {},
): Promise<FewshotPngPaths> {
  const { width, height } = result;
  if (image.width !== width || image.height !== height) throw new Error(`writeFewshotPngs: image ${image.width}x${image.height} vs map ${width}x${height}`);
  const paths = { heatmap: `${prefix}_heatmap.png`, mask: `${prefix}_mask.png`, overlay: `${prefix}_overlay.png` };
  await writeHeatmapPng(paths.heatmap, result.map, width, height, { colormap: opts.colormap ?? 'jet', min: opts.maxValue !== undefined ? 0 : undefined, max: opts.maxValue });
  await writeMaskPng(paths.mask, result.mask, width, height);
  await writeOverlayPng(paths.overlay, image, {
    mask: result.mask,
    groundTruth: opts.groundTruth,
    boxes: result.prompts.map((p) => p.box),
    points: result.prompts.map((p) => p.point),
  });
  return paths;
}
