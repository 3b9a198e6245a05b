/**
 * SAM prompts from the regions of a binary mask: one prompt per 8-connected component, a tight
 * box (src/image/types.ts: inclusive corners, as torchvision's masks_to_boxes) plus the points
 * a policy picks. The oracle study prompts from ground-truth regions, the few-shot methods from
 * a thresholded anomaly map; both come through `regionPrompts`.
 */
import { componentBox } from '../../image/box.js';
import { labelComponents, type Component } from '../../image/connected-components.js';
import type { Box, Point } from '../../image/types.js';

/**
 * Points that go with each region's box: none; the region pixel nearest its centroid (the centroid
 * itself can fall outside a ring or a curved scratch; this pixel never does); the pixel where
 * `map` peaks; or `count` distinct pixels drawn with `random`.
 */
export type RegionPointPolicy = 'none' | 'central' | 'peak' | 'sample';

export interface RegionPromptOptions {
  point?: RegionPointPolicy;
  /** Scores per pixel: needed by 'peak'; gives each prompt its peak and mean, and orders prompts by peak. */
  map?: ArrayLike<number>;
  /** Points per region for 'sample' (default 20). */
  count?: number;
  /** A seeded PRNG in [0, 1), for 'sample'. */
  random?: () => number;
  /** Regions smaller than this many pixels, or than this fraction of the image, are dropped. */
  minArea?: number;
  minAreaFraction?: number;
  /** At most this many prompts (highest peak first when there is a map). */
  maxPrompts?: number;
}

export interface RegionPrompt {
  box: Box;
  points: Point[];
  area: number;
  /** Highest and mean map value inside the region (null without a map). */
  peak: number | null;
  mean: number | null;
}

/** Pixel indices of one component, in raster order. */
export function regionPixels(labels: Int32Array, width: number, c: Component): Int32Array {
  const out = new Int32Array(c.area);
  let k = 0;
  for (let y = c.y0; y <= c.y1; y++) {
    for (let x = c.x0; x <= c.x1; x++) {
      const i = y * width + x;
      if (labels[i] === c.label) out[k++] = i;
    }
  }
  if (k !== c.area) throw new Error(`regionPixels: component ${c.label} has ${k} pixels inside its box, expected ${c.area}`);
  return out;
}

const toPoint = (i: number, width: number): Point => [i % width, Math.floor(i / width)];

/** The region pixel nearest the region's centroid (first in raster order on ties). */
export function regionCentralPoint(labels: Int32Array, width: number, c: Component): Point {
  const px = regionPixels(labels, width, c);
  let sx = 0;
  let sy = 0;
  for (const i of px) {
    sx += i % width;
    sy += Math.floor(i / width);
  }
  const cx = sx / px.length;
  const cy = sy / px.length;
  let best = px[0];
  let bestD = Infinity;
  for (const i of px) {
    const dx = (i % width) - cx;
    const dy = Math.floor(i / width) - cy;
    const d = dx * dx + dy * dy;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return toPoint(best, width);
}

/**
 * `n` distinct pixels of the region drawn uniformly with `random` by a partial Fisher-Yates
 * shuffle; a region with at most `n` pixels gives all of them.
 */
export function sampleRegionPoints(labels: Int32Array, width: number, c: Component, n: number, random: () => number): Point[] {
  const px = regionPixels(labels, width, c);
  const take = Math.min(n, px.length);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(random() * (px.length - i));
    const t = px[i];
    px[i] = px[j];
    px[j] = t;
  }
  return Array.from(px.subarray(0, take), (i) => toPoint(i, width));
}

/** One prompt per 8-connected region of `mask` (0/1, width * height), as the options say. */
export function regionPrompts(mask: ArrayLike<number>, width: number, height: number, opts: RegionPromptOptions = {}): RegionPrompt[] {
  const policy = opts.point ?? 'none';
  const map = opts.map;
  if (policy === 'peak' && !map) throw new Error("regionPrompts: point policy 'peak' needs a map");
  if (policy === 'sample' && !opts.random) throw new Error("regionPrompts: point policy 'sample' needs a seeded random source");
  if (map && map.length !== width * height) throw new Error(`regionPrompts: map has ${map.length} values, expected ${width * height}`);
  const { labels, components } = labelComponents(mask, width, height);
  const peakAt = new Int32Array(components.length).fill(-1);
  const sums = new Float64Array(components.length);
  if (map) {
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (l === 0) continue;
      sums[l - 1] += map[i];
      const p = peakAt[l - 1];
      if (p < 0 || map[i] > map[p]) peakAt[l - 1] = i;
    }
  }
  const minArea = Math.max(opts.minArea ?? 0, (opts.minAreaFraction ?? 0) * width * height);
  const out: RegionPrompt[] = [];
  for (const c of components) {
    if (c.area < minArea) continue;
    const peak = map ? map[peakAt[c.label - 1]] : null;
    let points: Point[] = [];
    if (policy === 'central') points = [regionCentralPoint(labels, width, c)];
    else if (policy === 'peak') points = [toPoint(peakAt[c.label - 1], width)];
    else if (policy === 'sample') points = sampleRegionPoints(labels, width, c, opts.count ?? 20, opts.random!);
    out.push({ box: componentBox(c), points, area: c.area, peak, mean: map ? sums[c.label - 1] / c.area : null });
  }
  if (map) out.sort((a, b) => b.peak! - a.peak!);
  return opts.maxPrompts !== undefined ? out.slice(0, opts.maxPrompts) : out;
}
