/**
 * Geometric changes of an image: a turn about the centre plus a shift on the same canvas (bilinear
 * for images, nearest neighbour for masks, what comes in from outside filled), and exact quarter
 * turns and mirror images (pixel permutations, the canvas turned with them).
 */
import type { BinaryMask } from './io.js';
import type { RgbImage } from './types.js';

/** A turn of `angle` degrees (counter-clockwise on screen) about the centre, then a shift by dx, dy pixels. */
export interface Warp {
  angle: number;
  dx: number;
  dy: number;
}

/**
 * For every output pixel, the source position it samples (inverse of: rotate about the centre by
 * `angle`, then shift by dx, dy). Row-major pairs [sx, sy].
 */
function inverseMap(width: number, height: number, p: Warp): Float64Array {
  const out = new Float64Array(width * height * 2);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const t = (p.angle * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // y grows downward, so a counter-clockwise turn on screen is a clockwise one in (x, y).
      const ux = x - p.dx - cx;
      const uy = y - p.dy - cy;
      const i = (y * width + x) * 2;
      out[i] = cx + cos * ux - sin * uy;
      out[i + 1] = cy + sin * ux + cos * uy;
    }
  }
  return out;
}

/** Index inside 0..n-1 mirrored at the edges (…2 1 0 | 0 1 2 … n-1 | n-1 n-2…), as OpenCV's BORDER_REFLECT. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

/**
 * Rotated and shifted image, bilinear. What comes in from outside the source is `fill` (one colour)
 * or, with 'reflect', the source mirrored at its edges: a texture continues and a background stays
 * background, where one colour would draw a shape of its own in the corners.
 */
export function warpRgb(img: RgbImage, p: Warp, fill: [number, number, number] | 'reflect'): RgbImage {
  const { width: w, height: h, data } = img;
  const map = inverseMap(w, h, p);
  const out = new Uint8Array(w * h * 3);
  const at =
    fill === 'reflect'
      ? (x: number, y: number, c: number) => data[(reflectIndex(y, h) * w + reflectIndex(x, w)) * 3 + c]
      : (x: number, y: number, c: number) => (x < 0 || y < 0 || x >= w || y >= h ? fill[c] : data[(y * w + x) * 3 + c]);
  for (let i = 0; i < w * h; i++) {
    const sx = map[i * 2];
    const sy = map[i * 2 + 1];
    if (fill !== 'reflect' && (sx < -0.5 || sy < -0.5 || sx > w - 0.5 || sy > h - 0.5)) {
      out.set(fill, i * 3);
      continue;
    }
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const fx = sx - x0;
    const fy = sy - y0;
    if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
      // Inside the source: the same sums without the edge rule (most pixels of a warp).
      const a = (y0 * w + x0) * 3;
      const b = a + w * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[a + c] * (1 - fx) + data[a + 3 + c] * fx;
        const bottom = data[b + c] * (1 - fx) + data[b + 3 + c] * fx;
        out[i * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
      continue;
    }
    for (let c = 0; c < 3; c++) {
      const top = at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx;
      const bottom = at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx;
      out[i * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * Bilinear warp of a one-channel float grid (an anomaly map), outside samples mirrored at the
 * edges as warpRgb's 'reflect' does: a map carried between two poses of the same canvas keeps a
 * value everywhere.
 */
export function warpScalar(values: Float32Array, width: number, height: number, p: Warp): Float32Array {
  if (values.length !== width * height) throw new Error(`warpScalar: ${values.length} values for ${width}x${height}`);
  const map = inverseMap(width, height, p);
  const out = new Float32Array(width * height);
  const at = (x: number, y: number) => values[reflectIndex(y, height) * width + reflectIndex(x, width)];
  for (let i = 0; i < width * height; i++) {
    const sx = map[i * 2];
    const sy = map[i * 2 + 1];
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const fx = sx - x0;
    const fy = sy - y0;
    if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
      const a = y0 * width + x0;
      out[i] = (values[a] * (1 - fx) + values[a + 1] * fx) * (1 - fy) + (values[a + width] * (1 - fx) + values[a + width + 1] * fx) * fy;
      continue;
    }
    out[i] = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
  }
  return out;
}

/**
 * `first`, then `second`, as one warp of the same canvas. A warp sends a pixel x to
 * c + d + R(x - c) (c the canvas centre, R the turn), so the turns add and the second turn
 * carries the first shift.
 */
export function composeWarps(first: Warp, second: Warp): Warp {
  const t = (second.angle * Math.PI) / 180;
  const [rx, ry] = turnVector(first.dx, first.dy, t);
  return { angle: first.angle + second.angle, dx: second.dx + rx, dy: second.dy + ry };
}

/** The warp that undoes `p` on the same canvas (up to what fell outside it). */
export function invertWarp(p: Warp): Warp {
  const [rx, ry] = turnVector(p.dx, p.dy, (-p.angle * Math.PI) / 180);
  return { angle: -p.angle, dx: -rx, dy: -ry };
}

/** A vector turned as warps turn pixels (counter-clockwise on screen, y down). */
function turnVector(x: number, y: number, t: number): [number, number] {
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  return [cos * x + sin * y, -sin * x + cos * y];
}

/** The same warp for a 0/1 mask, nearest neighbour (outside: 0). */
export function warpMask(mask: BinaryMask, p: Warp): BinaryMask {
  const { width: w, height: h, data } = mask;
  const map = inverseMap(w, h, p);
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const x = Math.round(map[i * 2]);
    const y = Math.round(map[i * 2 + 1]);
    out[i] = x >= 0 && y >= 0 && x < w && y < h ? data[y * w + x] : 0;
  }
  return { width: w, height: h, data: out };
}


/** The image turned by `quarters` x 90 degrees counter-clockwise on screen (width and height swap on odd turns). */
export function rotateQuarter(img: RgbImage, quarters: number): RgbImage {
  const q = ((quarters % 4) + 4) % 4;
  if (q === 0) return img;
  const { width: w, height: h, data } = img;
  const ow = q === 2 ? w : h;
  const oh = q === 2 ? h : w;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Source (x, y) lands at: q=1 (y, w-1-x), q=2 (w-1-x, h-1-y), q=3 (h-1-y, x).
      const [nx, ny] = q === 1 ? [y, w - 1 - x] : q === 2 ? [w - 1 - x, h - 1 - y] : [h - 1 - y, x];
      out.set(data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (ny * ow + nx) * 3);
    }
  }
  return { width: ow, height: oh, data: out };
}

/** Mirror image about the vertical axis (left and right swap). */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (y * w + (w - 1 - x)) * 3);
  return { width: w, height: h, data: out };
}
