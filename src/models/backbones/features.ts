/** Pure feature-grid operations shared by the backbones (no models here). */
import { normaliseRowsInPlace } from '../../util/rows.js';

/**
 * Bilinear resampling of a CHW feature tensor to another grid size, align_corners=false
 * (torch's F.interpolate default), returned as CHW.
 */
export function resizeChw(src: Float32Array, channels: number, h: number, w: number, H: number, W: number): Float32Array {
  if (h === H && w === W) return src;
  const out = new Float32Array(channels * H * W);
  const sy = h / H;
  const sx = w / W;
  const x0s = new Int32Array(W);
  const x1s = new Int32Array(W);
  const fxs = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(w - 1, Math.floor(fx));
    x0s[x] = x0;
    x1s[x] = Math.min(w - 1, x0 + 1);
    fxs[x] = fx - x0;
  }
  for (let y = 0; y < H; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(h - 1, Math.floor(fy));
    const y1 = Math.min(h - 1, y0 + 1);
    const wy = fy - y0;
    for (let c = 0; c < channels; c++) {
      const base = c * h * w;
      const r0 = base + y0 * w;
      const r1 = base + y1 * w;
      const o = c * H * W + y * W;
      for (let x = 0; x < W; x++) {
        const a = src[r0 + x0s[x]] * (1 - fxs[x]) + src[r0 + x1s[x]] * fxs[x];
        const b = src[r1 + x0s[x]] * (1 - fxs[x]) + src[r1 + x1s[x]] * fxs[x];
        out[o + x] = a * (1 - wy) + b * wy;
      }
    }
  }
  return out;
}

/**
 * Average over a k x k neighbourhood per channel (stride 1, edges use the cells that exist), as
 * PatchCore's local aggregation: a patch feature then describes its surroundings too.
 */
export function localAverageChw(src: Float32Array, channels: number, h: number, w: number, k: number): Float32Array {
  if (k <= 1) return src;
  const r = Math.floor(k / 2);
  const out = new Float32Array(src.length);
  const tmp = new Float32Array(h * w);
  for (let c = 0; c < channels; c++) {
    const base = c * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        let n = 0;
        for (let dx = -r; dx <= r; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          s += src[base + y * w + xx];
          n++;
        }
        tmp[y * w + x] = s / n;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        let n = 0;
        for (let dy = -r; dy <= r; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          s += tmp[yy * w + x];
          n++;
        }
        out[base + y * w + x] = s / n;
      }
    }
  }
  return out;
}

/** Crops the top-left gh x gw cells of a CHW tensor of size h x w. */
export function cropChw(src: Float32Array, channels: number, h: number, w: number, gh: number, gw: number): Float32Array {
  if (gh === h && gw === w) return src;
  const out = new Float32Array(channels * gh * gw);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < gh; y++) out.set(src.subarray(c * h * w + y * w, c * h * w + y * w + gw), c * gh * gw + y * gw);
  }
  return out;
}

/**
 * CHW layers (same grid) -> one HWC grid; each layer is L2-normalised per patch first so that a
 * layer with larger activations does not drown the others.
 */
export function concatLayersHwc(layers: Array<{ data: Float32Array; channels: number }>, h: number, w: number): { data: Float32Array; dim: number } {
  const dim = layers.reduce((s, l) => s + l.channels, 0);
  const n = h * w;
  const out = new Float32Array(n * dim);
  let off = 0;
  for (const { data, channels } of layers) {
    for (let p = 0; p < n; p++) {
      let s = 0;
      for (let c = 0; c < channels; c++) {
        const v = data[c * n + p];
        s += v * v;
      }
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      const o = p * dim + off;
      for (let c = 0; c < channels; c++) out[o + c] = data[c * n + p] * inv;
    }
    off += channels;
  }
  return { data: out, dim };
}

/** A patch-major (HWC) grid: data[(y * w + x) * c + k]. */
export interface HwcGrid {
  data: Float32Array;
  h: number;
  w: number;
  c: number;
}

/**
 * PatchCore's local aggregation on an HWC grid: each cell becomes the mean of the
 * (2r+1) x (2r+1) cells around it (stride 1); cells outside the grid are left out of the mean (as
 * an AveragePool with count_include_pad = 0), so the image border is not averaged with padding.
 * Separable running sums: two passes of O(h w c) whatever r.
 */
export function localMeanHwc(g: HwcGrid, r: number): HwcGrid {
  if (r <= 0) return g;
  const { h, w, c, data } = g;
  const tmp = new Float32Array(data.length);
  const acc = new Float64Array(c);
  for (let y = 0; y < h; y++) {
    acc.fill(0);
    const row = y * w;
    for (let x = 0; x < Math.min(r, w); x++) for (let k = 0; k < c; k++) acc[k] += data[(row + x) * c + k];
    for (let x = 0; x < w; x++) {
      if (x + r < w) for (let k = 0, o = (row + x + r) * c; k < c; k++) acc[k] += data[o + k];
      if (x - r - 1 >= 0) for (let k = 0, o = (row + x - r - 1) * c; k < c; k++) acc[k] -= data[o + k];
      const inv = 1 / (Math.min(w - 1, x + r) - Math.max(0, x - r) + 1);
      for (let k = 0, o = (row + x) * c; k < c; k++) tmp[o + k] = acc[k] * inv;
    }
  }
  const out = new Float32Array(data.length);
  for (let x = 0; x < w; x++) {
    acc.fill(0);
    for (let y = 0; y < Math.min(r, h); y++) for (let k = 0, o = (y * w + x) * c; k < c; k++) acc[k] += tmp[o + k];
    for (let y = 0; y < h; y++) {
      if (y + r < h) for (let k = 0, o = ((y + r) * w + x) * c; k < c; k++) acc[k] += tmp[o + k];
      if (y - r - 1 >= 0) for (let k = 0, o = ((y - r - 1) * w + x) * c; k < c; k++) acc[k] -= tmp[o + k];
      const inv = 1 / (Math.min(h - 1, y + r) - Math.max(0, y - r) + 1);
      for (let k = 0, o = (y * w + x) * c; k < c; k++) out[o + k] = acc[k] * inv;
    }
  }
  return { data: out, h, w, c };
}

/** L2-normalises every cell (row) of an HWC grid in place; an all-zero cell stays zero. */
export function normaliseCells(g: HwcGrid): HwcGrid {
  normaliseRowsInPlace(g.data, g.h * g.w, g.c);
  return g;
}
