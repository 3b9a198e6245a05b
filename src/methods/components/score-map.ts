/**
 * From patch scores on a feature grid to a smooth anomaly map in image pixels.
 * The map is built at a working resolution (longest side `workSize`), smoothed there, and
 * resized to the image: blurring a 1024 px map with a proportionally wide kernel would cost
 * ~30x more for the same result after the protocol's own resize to 400 px.
 */
import type { FeatureGrid } from '../../models/backbones/types.js';
import { cropChw } from '../../models/backbones/features.js';
import { resizeBilinear } from '../../image/resize.js';
import { MAP_SETTINGS_DEFAULTS } from './map-settings.js';
import { gaussianBlur } from './smooth.js';

export interface MapOptions {
  /** Longest side of the working map (config fewshot.work_size). */
  workSize?: number;
  /** Gaussian sigma as a fraction of the map's longest side (config fewshot.smooth_sigma; 4/256 is PatchCore's sigma 4 at 256 px); 0 = off. */
  smoothSigma?: number;
}

export const DEFAULT_MAP_OPTIONS: Required<MapOptions> = { workSize: MAP_SETTINGS_DEFAULTS.work_size, smoothSigma: MAP_SETTINGS_DEFAULTS.smooth_sigma };

/**
 * Upsamples grid scores (gridHeight x gridWidth) to a width x height map: bilinear over the
 * area the grid covers (coverWidth x coverHeight image pixels), cropped to the image.
 */
export function gridToMap(scores: Float32Array, grid: Pick<FeatureGrid, 'gridWidth' | 'gridHeight' | 'coverWidth' | 'coverHeight'>, imageWidth: number, imageHeight: number, width: number, height: number): Float32Array {
  const sx = width / imageWidth;
  const sy = height / imageHeight;
  const cw = Math.max(width, Math.round(grid.coverWidth * sx));
  const ch = Math.max(height, Math.round(grid.coverHeight * sy));
  const up = resizeBilinear(scores, grid.gridWidth, grid.gridHeight, cw, ch);
  return cropChw(up, 1, ch, cw, height, width);
}

export function workShape(width: number, height: number, workSize: number): { width: number; height: number } {
  const s = Math.min(1, workSize / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/** One scale's patch scores on its grid. */
export interface ScaleScores {
  /** The scale's name: maps are summed in name order, so the result never depends on the order given. */
  name: string;
  scores: Float32Array;
  grid: Pick<FeatureGrid, 'gridWidth' | 'gridHeight' | 'coverWidth' | 'coverHeight'>;
}

/**
 * Several scales' patch scores -> their mean at working size (each grid upsampled over the area
 * it covers), smoothed. Equal weights: the scales are made comparable before (per-scale
 * normalisation in the memory bank), not here. With one scale this is that scale's map.
 */
export function combineToWorkMap(parts: ScaleScores[], imageWidth: number, imageHeight: number, opts: MapOptions = {}): { map: Float32Array; width: number; height: number } {
  if (parts.length === 0) throw new Error('combineToWorkMap: no scales');
  const o = { ...DEFAULT_MAP_OPTIONS, ...opts };
  const work = workShape(imageWidth, imageHeight, o.workSize);
  const sorted = [...parts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let map: Float32Array;
  if (sorted.length === 1) map = gridToMap(sorted[0].scores, sorted[0].grid, imageWidth, imageHeight, work.width, work.height);
  else {
    map = new Float32Array(work.width * work.height);
    for (const p of sorted) {
      const m = gridToMap(p.scores, p.grid, imageWidth, imageHeight, work.width, work.height);
      for (let i = 0; i < m.length; i++) map[i] += m[i];
    }
    const inv = 1 / sorted.length;
    for (let i = 0; i < map.length; i++) map[i] *= inv;
  }
  if (o.smoothSigma > 0) map = gaussianBlur(map, work.width, work.height, o.smoothSigma * Math.max(work.width, work.height));
  return { map, width: work.width, height: work.height };
}

/** Several scales' patch scores -> their smoothed mean map at image size (see combineToWorkMap). */
export function combineToImageMap(parts: ScaleScores[], imageWidth: number, imageHeight: number, opts: MapOptions = {}): Float32Array {
  const w = combineToWorkMap(parts, imageWidth, imageHeight, opts);
  return resizeBilinear(w.map, w.width, w.height, imageWidth, imageHeight);
}

