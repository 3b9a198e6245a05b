/**
 * Discrete Fourier transform of square power-of-two grids (radix-2, in place, complex as two
 * Float64Arrays). Small on purpose: it serves pose estimates on thumbnails of 64-256 pixels, where
 * a plain JS transform takes a few milliseconds.
 *
 * Forward: X[k] = sum_n x[n] exp(-2 pi i k n / N); inverse divides by N (per axis).
 */

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** One transform of length n over re/im at offset, stride (in place). */
function fft1(re: Float64Array, im: Float64Array, offset: number, stride: number, n: number, inverse: boolean): void {
  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const a = offset + i * stride;
      const b = offset + j * stride;
      let t = re[a];
      re[a] = re[b];
      re[b] = t;
      t = im[a];
      im[a] = im[b];
      im[b] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let j = 0; j < len >> 1; j++) {
        const a = offset + (i + j) * stride;
        const b = offset + (i + j + (len >> 1)) * stride;
        const xr = re[b] * cr - im[b] * ci;
        const xi = re[b] * ci + im[b] * cr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[offset + i * stride] /= n;
      im[offset + i * stride] /= n;
    }
  }
}

/** 2-D transform of an n x n row-major grid, in place (rows, then columns). */
export function fft2(re: Float64Array, im: Float64Array, n: number, inverse = false): void {
  if (!isPowerOfTwo(n) || re.length !== n * n || im.length !== n * n) throw new Error(`fft2: an n x n grid with n a power of two (n = ${n}, ${re.length} values)`);
  for (let y = 0; y < n; y++) fft1(re, im, y * n, 1, n, inverse);
  for (let x = 0; x < n; x++) fft1(re, im, x, n, n, inverse);
}
