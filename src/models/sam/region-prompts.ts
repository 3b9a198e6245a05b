/**
 * Prompts from a labelled region (a ground-truth component in the oracle study, a component of a
 * binarised anomaly map in the few-shot preset). Pure functions on the label image of
 * src/image/components.ts; coordinates are original pixels (x = column, y = row), as SAM expects
 * (its ONNX decoder adds the half-pixel offset itself).
 */
import type { Component, Labelled } from '../../image/components.js';
import type { Box, Point, SamPrompt } from './transforms.js';

/** Tight box of a component: inclusive pixel bounds, as torchvision's masks_to_boxes. */
export function componentBox(c: Component): Box {
  return [c.x0, c.y0, c.x1, c.y1];
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

/**
 * One deterministic point inside the region: the region pixel nearest to the region's centroid
 * (first in raster order on ties). The centroid itself can fall outside a non-convex region
 * (a ring, a curved scratch); this point never does.
 */
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
  return [best % width, Math.floor(best / width)];
}

/**
 * `n` distinct pixels of the region drawn uniformly with `random` (a seeded PRNG in [0, 1)), by a
 * partial Fisher-Yates shuffle; a region with at most `n` pixels gives all of them.
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
  return Array.from(px.subarray(0, take), (i) => [i % width, Math.floor(i / width)] as Point);
}

export type RegionPromptMode = 'b' | 'bp' | 'bps';

/** Box (b), box + central point (bp), or box + `points` sampled points (bps) for every component. */
export function regionPrompts(
  labelled: Labelled,
  width: number,
  mode: RegionPromptMode,
  opts: { points?: number; random?: () => number } = {},
): SamPrompt[] {
  return labelled.components.map((c) => {
    const box = componentBox(c);
    if (mode === 'b') return { box };
    if (mode === 'bp') return { box, points: [regionCentralPoint(labelled.labels, width, c)] };
    if (!opts.random) throw new Error("regionPrompts: mode 'bps' needs a seeded random source");
    return { box, points: sampleRegionPoints(labelled.labels, width, c, opts.points ?? 20, opts.random) };
  });
}
