/** PNG writers for the pure renderers (IO at the edge; image/io.ts savePng does the encoding). */
import { savePng } from '../image/io.js';
import { heatmapRgb, type HeatmapOptions } from './colormap.js';
import { comparisonGrid, type FigureOptions } from './figure.js';
import { renderOverlay, type OverlayOptions } from './overlay.js';
import type { RgbImage } from '../image/types.js';

export async function writeHeatmapPng(path: string, map: Float32Array, width: number, height: number, opts: HeatmapOptions = {}): Promise<void> {
  if (map.length !== width * height) throw new Error(`writeHeatmapPng: ${map.length} values for ${width}x${height}`);
  await savePng(path, { width, height, data: heatmapRgb(map, opts) });
}

export async function writeMaskPng(path: string, mask: Uint8Array, width: number, height: number): Promise<void> {
  await savePng(path, { width, height, data: mask }, { mask: true });
}

export async function writeOverlayPng(path: string, image: RgbImage, opts: OverlayOptions = {}): Promise<void> {
  await savePng(path, renderOverlay(image, opts));
}

export async function writeComparisonFigure(path: string, rows: RgbImage[][], opts: FigureOptions = {}): Promise<void> {
  await savePng(path, comparisonGrid(rows, opts));
}
