/** Box helpers for the inclusive-corner Box of ./types.ts. */
import type { Component } from './components.js';
import type { Box } from './types.js';

/** The tight box of a connected component (first and last pixel, inclusive). */
export function componentBox(c: Component): Box {
  return [c.x0, c.y0, c.x1, c.y1];
}

/** Corners in order and inside the image (coordinates in [0, width] x [0, height]), as the IAP-AS reference clamps before SAM. */
export function clampBox(box: Box, width: number, height: number): Box {
  const cx = (v: number) => Math.min(Math.max(v, 0), width);
  const cy = (v: number) => Math.min(Math.max(v, 0), height);
  const [x1, y1, x2, y2] = box;
  return [cx(Math.min(x1, x2)), cy(Math.min(y1, y2)), cx(Math.max(x1, x2)), cy(Math.max(y1, y2))];
}

/**
 * Normalised area w*h/(W*H) with w = x2 - x1, h = y2 - y1, as the IAP-AS reference computes the
 * object size and the size filter on the detector's (continuous) boxes.
 */
export function boxArea(box: readonly number[], width: number, height: number): number {
  return (Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1])) / (width * height);
}

/**
 * The whole pixels a box covers, clamped to the image: inclusive index ranges, or null when the
 * box lies outside. `margin` grows the box by that fraction of its size on each side.
 */
export function boxPixels(box: readonly number[], width: number, height: number, margin = 0): { x0: number; y0: number; x1: number; y1: number } | null {
  const mw = margin * (box[2] - box[0]);
  const mh = margin * (box[3] - box[1]);
  const x0 = Math.max(0, Math.floor(box[0] - mw));
  const y0 = Math.max(0, Math.floor(box[1] - mh));
  const x1 = Math.min(width - 1, Math.ceil(box[2] + mw));
  const y1 = Math.min(height - 1, Math.ceil(box[3] + mh));
  return x0 > x1 || y0 > y1 ? null : { x0, y0, x1, y1 };
}
