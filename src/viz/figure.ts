/**
 * Comparison figure: a grid with one row per image and one column per panel (image, ground
 * truth, then the maps of several methods), each panel resized to the same cell.
 */
import { resizeRgbNearest } from './draw.js';
import type { RgbImage } from '../image/types.js';

export interface FigureOptions {
  /** Cell side in pixels (default 192). */
  cell?: number;
  /** Gap between cells in pixels (default 4). */
  gap?: number;
  background?: [number, number, number];
}

/** Rows may differ in length; missing cells stay background. */
export function comparisonGrid(rows: RgbImage[][], opts: FigureOptions = {}): RgbImage {
  const cell = opts.cell ?? 192;
  const gap = opts.gap ?? 4;
  const bg = opts.background ?? [255, 255, 255];
  const cols = Math.max(0, ...rows.map((r) => r.length));
  if (rows.length === 0 || cols === 0) throw new Error('comparisonGrid: no panels');
  const width = cols * cell + (cols + 1) * gap;
  const height = rows.length * cell + (rows.length + 1) * gap;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(bg, 3 * i);
  rows.forEach((row, r) => {
    row.forEach((panel, c) => {
      const p = resizeRgbNearest(panel, cell, cell);
      const ox = gap + c * (cell + gap);
      const oy = gap + r * (cell + gap);
      for (let y = 0; y < cell; y++) data.set(p.data.subarray(3 * y * cell, 3 * (y + 1) * cell), 3 * ((oy + y) * width + ox));
    });
  });
  return { width, height, data };
}
