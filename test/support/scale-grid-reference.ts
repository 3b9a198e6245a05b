/**
 * The plain-JS reference of a feature scale's grid (what src/models/backbones/sam-inner.ts
 * `scaleGrid` computed before it moved to one onnxruntime graph, scale-grid-ort.ts): crop the
 * top-left gh x gw cells, average-pool by `pool` (a partial last cell averages the cells it has),
 * local mean over (2r+1)^2 cells with cells outside the grid left out, L2 per cell (a zero cell
 * stays zero). Written as plain loops so that each step can be read against its definition; the
 * ORT graph is tested against it (test/models/backbones/scale-grid-ort.test.ts), and
 * eval/bench-features.ts times both on a real image.
 */
import type { EncoderTensor } from '../../src/models/sam/model.js';
import type { EncoderScale } from '../../src/models/backbones/entries.js';
import { localMeanHwc, normaliseCells, type HwcGrid } from '../../src/models/backbones/features.js';
import { checkScaleTensor, scaleCrop, withGeometry } from '../../src/models/backbones/sam-inner.js';
import type { FeatureGrid } from '../../src/models/backbones/types.js';

/** The top-left gh x gw cells of a row-major token tensor [h*w, c] (a ViT's [1, N, C] output), as HWC. */
export function cropTokens(tokens: Float32Array, w: number, c: number, gh: number, gw: number): HwcGrid {
  const data = new Float32Array(gh * gw * c);
  for (let y = 0; y < gh; y++) data.set(tokens.subarray(y * w * c, (y * w + gw) * c), y * gw * c);
  return { data, h: gh, w: gw, c };
}

/**
 * The top-left gh x gw cells of a CHW tensor (h x w grid) average-pooled by `f` (partial last
 * cells average what they have), as HWC: cropping, pooling and the layout change in one pass.
 */
export function cropPoolChwToHwc(src: Float32Array, c: number, h: number, w: number, gh: number, gw: number, f: number): HwcGrid {
  const H = Math.ceil(gh / f);
  const W = Math.ceil(gw / f);
  const out = new Float32Array(H * W * c);
  const count = new Float32Array(H * W);
  for (let y = 0; y < gh; y++) for (let x = 0; x < gw; x++) count[Math.floor(y / f) * W + Math.floor(x / f)]++;
  const plane = new Float32Array(H * W);
  for (let k = 0; k < c; k++) {
    plane.fill(0);
    const base = k * h * w;
    for (let y = 0; y < gh; y++) {
      const o = Math.floor(y / f) * W;
      const row = base + y * w;
      for (let x = 0; x < gw; x++) plane[o + Math.floor(x / f)] += src[row + x];
    }
    for (let p = 0; p < H * W; p++) out[p * c + k] = plane[p] / count[p];
  }
  return { data: out, h: H, w: W, c };
}

/** Average pooling of an HWC grid by an integer factor; a partial last cell averages what it has. */
export function poolHwc(g: HwcGrid, f: number): HwcGrid {
  if (f <= 1) return g;
  const { h, w, c, data } = g;
  const H = Math.ceil(h / f);
  const W = Math.ceil(w / f);
  const out = new Float32Array(H * W * c);
  const count = new Float32Array(H * W);
  for (let y = 0; y < h; y++) {
    const Y = Math.floor(y / f);
    for (let x = 0; x < w; x++) {
      const p = Y * W + Math.floor(x / f);
      const o = p * c;
      const s = (y * w + x) * c;
      for (let k = 0; k < c; k++) out[o + k] += data[s + k];
      count[p]++;
    }
  }
  for (let p = 0; p < H * W; p++) {
    const inv = 1 / count[p];
    for (let k = 0; k < c; k++) out[p * c + k] *= inv;
  }
  return { data: out, h: H, w: W, c };
}

/** The cells of one scale as HWC, in plain JS (the reference of scale-grid-ort.ts `scaleGridOrt`). */
export function scaleCellsReference(data: Float32Array, dims: readonly number[], scale: Pick<EncoderScale, 'layout' | 'pool' | 'radius'>, gh: number, gw: number): HwcGrid {
  let g: HwcGrid;
  if (scale.layout === 'tokens') {
    const [, n, c] = dims;
    g = poolHwc(cropTokens(data, Math.round(Math.sqrt(n)), c, gh, gw), scale.pool);
  } else {
    const [, c, h, w] = dims;
    g = cropPoolChwToHwc(data, c, h, w, gh, gw, scale.pool);
  }
  return normaliseCells(localMeanHwc(g, scale.radius));
}

/** `scaleGrid` of sam-inner.ts, in plain JS. */
export function scaleGridReference(t: EncoderTensor, scale: EncoderScale, image: { width: number; height: number }, resized: { width: number; height: number }): FeatureGrid {
  const { gh, gw } = scaleCrop(scale, resized);
  checkScaleTensor(t, scale, gh, gw);
  return withGeometry(scaleCellsReference(t.data, t.dims, scale, gh, gw), scale, image, resized);
}
