/**
 * Prompts from a binarised anomaly map: one per 8-connected component that is large enough,
 * a box around it plus one positive point at the component's highest-scoring pixel (the
 * centroid of a ring- or L-shaped region can fall outside it; the peak cannot).
 */
import { labelComponents } from '../../image/components.js';

export interface RegionPrompt {
  /** [x0, y0, x1, y1] in pixels, x1/y1 exclusive (one past the last pixel). */
  box: [number, number, number, number];
  /** Positive point (pixel centre coordinates). */
  point: [number, number];
  area: number;
  /** Highest map value inside the component. */
  peak: number;
  /** Mean map value inside the component. */
  mean: number;
}

export interface PromptOptions {
  /** Components smaller than this many pixels are dropped. */
  minArea?: number;
  /** Components smaller than this fraction of the image are dropped. */
  minAreaFraction?: number;
  /** Keep at most this many prompts, highest peak first. */
  maxPrompts?: number;
}

export function promptsFromMask(mask: Uint8Array, map: Float32Array, width: number, height: number, opts: PromptOptions = {}): RegionPrompt[] {
  const minArea = Math.max(opts.minArea ?? 0, (opts.minAreaFraction ?? 0) * width * height);
  const { labels, components } = labelComponents(mask, width, height);
  const peakAt = new Int32Array(components.length).fill(-1);
  const sums = new Float64Array(components.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === 0) continue;
    sums[l - 1] += map[i];
    const p = peakAt[l - 1];
    if (p < 0 || map[i] > map[p]) peakAt[l - 1] = i;
  }
  const out: RegionPrompt[] = [];
  for (const c of components) {
    if (c.area < minArea) continue;
    const p = peakAt[c.label - 1];
    out.push({
      box: [c.x0, c.y0, c.x1 + 1, c.y1 + 1],
      point: [(p % width) + 0.5, Math.floor(p / width) + 0.5],
      area: c.area,
      peak: map[p],
      mean: sums[c.label - 1] / c.area,
    });
  }
  out.sort((a, b) => b.peak - a.peak);
  return opts.maxPrompts !== undefined ? out.slice(0, opts.maxPrompts) : out;
}
