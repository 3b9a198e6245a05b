/**
 * Resizing of single-channel float maps with OpenCV's `cv2.resize` semantics, so that a map
 * evaluated here and in the Python reference code lands on the same pixels.
 *
 * - bicubic = INTER_CUBIC: Keys kernel with a = -0.75, half-pixel centres
 *   (src = (dst + 0.5) * scale - 0.5), border replicate, separable (horizontal pass first),
 *   NO antialiasing when downscaling (OpenCV does not widen the kernel either).
 * - nearest = INTER_NEAREST: src = min(floor(dst * scale), size - 1) (no half-pixel shift).
 * - bilinear = INTER_LINEAR on float data: half-pixel centres, edge clamped.
 *
 * As in OpenCV, `scale` is 1 / (dstSize / srcSize) in double precision and the fractional
 * offsets and cubic weights are float32; sums are kept in float64 here (OpenCV sums in float32),
 * which moves results by at most a few float32 ulps.
 */

const f32 = Math.fround;

function checkSizes(len: number, w: number, h: number, W: number, H: number, name: string): void {
  if (!(w > 0 && h > 0 && W > 0 && H > 0) || ![w, h, W, H].every(Number.isInteger)) {
    throw new Error(`${name}: sizes must be positive integers (got ${w}x${h} -> ${W}x${H})`);
  }
  if (len !== w * h) throw new Error(`${name}: source has ${len} values, expected ${w}x${h}`);
}

/** OpenCV's interpolateCubic: the four Keys weights (a = -0.75) for fractional offset x, in float32. */
function cubicWeights(x: number, out: Float64Array, o: number): void {
  const A = -0.75;
  const x1 = f32(x + 1);
  const c0 = f32(f32(f32(f32(f32(A * x1) - 5 * A) * x1) + 8 * A) * x1 - 4 * A);
  const c1 = f32(f32(f32(f32(f32((A + 2) * x) - (A + 3)) * x) * x) + 1);
  const mx = f32(1 - x);
  const c2 = f32(f32(f32(f32(f32((A + 2) * mx) - (A + 3)) * mx) * mx) + 1);
  const c3 = f32(f32(f32(1 - c0) - c1) - c2);
  out[o] = c0;
  out[o + 1] = c1;
  out[o + 2] = c2;
  out[o + 3] = c3;
}

/** Per destination index: the first of the four source taps and their weights. */
function cubicTaps(src: number, dst: number): { start: Int32Array; weights: Float64Array } {
  const scale = 1 / (dst / src);
  const start = new Int32Array(dst);
  const weights = new Float64Array(dst * 4);
  for (let d = 0; d < dst; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    const sx = Math.floor(fx);
    fx = f32(fx - sx);
    start[d] = sx - 1;
    cubicWeights(fx, weights, d * 4);
  }
  return { start, weights };
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/**
 * Bicubic resize (OpenCV INTER_CUBIC) of a row-major w x h map to W x H.
 * `out`, when given, receives the W*H result (e.g. a slice of a pooled buffer).
 */
export function resizeBicubic(
  src: ArrayLike<number>,
  w: number,
  h: number,
  W: number,
  H: number,
  out: Float32Array = new Float32Array(W * H),
): Float32Array {
  checkSizes(src.length, w, h, W, H, 'resizeBicubic');
  if (out.length !== W * H) throw new Error(`resizeBicubic: output has ${out.length} values, expected ${W}x${H}`);
  if (w === W && h === H) {
    for (let i = 0; i < out.length; i++) out[i] = src[i];
    return out;
  }
  const tx = cubicTaps(w, W);
  const ty = cubicTaps(h, H);
  // Horizontal pass over every source row, then vertical; float32 rows as OpenCV keeps them.
  const rows = new Float32Array(W * h);
  const xi = new Int32Array(W * 4);
  for (let d = 0; d < W; d++) for (let k = 0; k < 4; k++) xi[d * 4 + k] = clampIndex(tx.start[d] + k, w);
  for (let y = 0; y < h; y++) {
    const so = y * w;
    const ro = y * W;
    for (let d = 0; d < W; d++) {
      const k = d * 4;
      const wt = tx.weights;
      rows[ro + d] =
        src[so + xi[k]] * wt[k] + src[so + xi[k + 1]] * wt[k + 1] + src[so + xi[k + 2]] * wt[k + 2] + src[so + xi[k + 3]] * wt[k + 3];
    }
  }
  for (let d = 0; d < H; d++) {
    const k = d * 4;
    const r0 = clampIndex(ty.start[d], h) * W;
    const r1 = clampIndex(ty.start[d] + 1, h) * W;
    const r2 = clampIndex(ty.start[d] + 2, h) * W;
    const r3 = clampIndex(ty.start[d] + 3, h) * W;
    const b0 = ty.weights[k];
    const b1 = ty.weights[k + 1];
    const b2 = ty.weights[k + 2];
    const b3 = ty.weights[k + 3];
    const oo = d * W;
    for (let x = 0; x < W; x++) {
      out[oo + x] = b0 * rows[r0 + x] + b1 * rows[r1 + x] + b2 * rows[r2 + x] + b3 * rows[r3 + x];
    }
  }
  return out;
}

function nearestIndex(src: number, dst: number): Int32Array {
  const scale = 1 / (dst / src);
  const idx = new Int32Array(dst);
  for (let d = 0; d < dst; d++) idx[d] = Math.min(Math.floor(d * scale), src - 1);
  return idx;
}

/** Nearest-neighbour resize (OpenCV INTER_NEAREST); works for masks (Uint8Array) and maps alike. */
export function resizeNearest<T extends Float32Array | Float64Array | Uint8Array>(
  src: T,
  w: number,
  h: number,
  W: number,
  H: number,
): T {
  checkSizes(src.length, w, h, W, H, 'resizeNearest');
  const Ctor = src.constructor as new (n: number) => T;
  const out = new Ctor(W * H);
  const xi = nearestIndex(w, W);
  const yi = nearestIndex(h, H);
  for (let y = 0; y < H; y++) {
    const so = yi[y] * w;
    const oo = y * W;
    for (let x = 0; x < W; x++) out[oo + x] = src[so + xi[x]];
  }
  return out;
}

function linearTaps(src: number, dst: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const scale = 1 / (dst / src);
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const f = new Float64Array(dst);
  for (let d = 0; d < dst; d++) {
    let fx = f32((d + 0.5) * scale - 0.5);
    let sx = Math.floor(fx);
    fx = f32(fx - sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx >= src - 1) {
      fx = 0;
      sx = src - 1;
    }
    i0[d] = sx;
    i1[d] = Math.min(sx + 1, src - 1);
    f[d] = fx;
  }
  return { i0, i1, f };
}

/** Bilinear resize (OpenCV INTER_LINEAR semantics for float input). */
export function resizeBilinear(src: ArrayLike<number>, w: number, h: number, W: number, H: number): Float32Array {
  checkSizes(src.length, w, h, W, H, 'resizeBilinear');
  const out = new Float32Array(W * H);
  const tx = linearTaps(w, W);
  const ty = linearTaps(h, H);
  const rows = new Float32Array(W * h);
  for (let y = 0; y < h; y++) {
    const so = y * w;
    for (let x = 0; x < W; x++) {
      const fx = tx.f[x];
      rows[y * W + x] = src[so + tx.i0[x]] * (1 - fx) + src[so + tx.i1[x]] * fx;
    }
  }
  for (let y = 0; y < H; y++) {
    const fy = ty.f[y];
    const r0 = ty.i0[y] * W;
    const r1 = ty.i1[y] * W;
    for (let x = 0; x < W; x++) out[y * W + x] = rows[r0 + x] * (1 - fy) + rows[r1 + x] * fy;
  }
  return out;
}
