/** Box helpers for the inclusive-corner Box of ./types.ts. */
import type { Component } from './connected-components.js';
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

/** Normalised centre-size (cx, cy, w, h) to pixel corners (x1, y1, x2, y2), as detector heads give boxes. */
export function cxcywhToXyxy(b: ArrayLike<number>, width: number, height: number): [number, number, number, number] {
  const [cx, cy, w, h] = [b[0] * width, b[1] * height, b[2] * width, b[3] * height];
  return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
}

/** Intersection over union of two continuous (x1, y1, x2, y2) boxes; 0 when both are empty. */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const area = (r: readonly number[]) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression as torchvision.ops.nms: by descending score, a box whose IoU
 * with a kept one exceeds the threshold is dropped. Returns the kept ones (ties keep input order).
 */
export function nms<T extends { box: readonly number[]; score: number }>(dets: T[], iouThreshold: number): T[] {
  const order = dets.map((d, i) => ({ d, i })).sort((a, b) => b.d.score - a.d.score || a.i - b.i);
  const kept: T[] = [];
  for (const { d } of order) {
    if (kept.every((k) => boxIou(k.box, d.box) <= iouThreshold)) kept.push(d);
  }
  return kept;
}

/** Corners rounded to 1e-4 pixel, so that records written from float maths compare across runs. */
export function roundBox(b: readonly number[]): [number, number, number, number] {
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return [round(b[0]), round(b[1]), round(b[2]), round(b[3])];
}
