/**
 * Binary masks and score maps as typed arrays (width * height, row-major): the IAP-AS score map
 * and its per-image normalisation (docs/method.md §1 stage B 5), unions, areas, clipping.
 */
import { valueRange } from '../util/numeric.js';
import { boxPixels } from './box.js';
import type { Box } from './types.js';

/** `sum_i s_i * m_i`: each binary mask adds its box score where it is set; overlaps add up. */
export function scoreMap(masks: Uint8Array[], scores: number[], width: number, height: number): Float32Array {
  if (masks.length !== scores.length) throw new Error(`scoreMap: ${masks.length} masks but ${scores.length} scores`);
  const out = new Float32Array(width * height);
  for (let i = 0; i < masks.length; i++) {
    const m = masks[i];
    if (m.length !== out.length) throw new Error(`scoreMap: mask ${i} has ${m.length} pixels, expected ${out.length}`);
    const s = scores[i];
    for (let p = 0; p < out.length; p++) if (m[p]) out[p] += s;
  }
  return out;
}

/** Min-max to [0, 1]; a constant map (including an empty one) becomes all zeros. */
export function minMaxNormalize(map: Float32Array): Float32Array {
  const out = new Float32Array(map.length);
  const range = valueRange(map);
  if (!range || !(range.max > range.min)) return out;
  const { min: lo, max: hi } = range;
  const inv = 1 / (hi - lo);
  for (let i = 0; i < map.length; i++) out[i] = (map[i] - lo) * inv;
  return out;
}

/** Union of binary masks: the binary prediction of an image. */
export function unionMask(masks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (const m of masks) for (let p = 0; p < size; p++) if (m[p]) out[p] = 1;
  return out;
}

/** Number of set pixels. */
export function maskArea(mask: Uint8Array): number {
  let a = 0;
  for (let i = 0; i < mask.length; i++) a += mask[i] ? 1 : 0;
  return a;
}

/** The mask's pixels inside the box grown by `margin` (a fraction of its size on each side); 0 elsewhere. */
export function clipMaskToBox(mask: Uint8Array, width: number, height: number, box: readonly number[], margin = 0): Uint8Array {
  const out = new Uint8Array(width * height);
  const r = boxPixels(box, width, height, margin);
  if (!r) return out;
  for (let y = r.y0; y <= r.y1; y++) for (let x = r.x0; x <= r.x1; x++) out[y * width + x] = mask[y * width + x] ? 1 : 0;
  return out;
}

/** The tight box of a mask's set pixels (inclusive corners, as componentBox), or null when it is empty. */
export function maskBox(mask: ArrayLike<number>, width: number, height: number): Box | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}
