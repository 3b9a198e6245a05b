/**
 * How one image's content is turned and shifted against another's, from small gray thumbnails.
 *
 * The turn comes from the magnitude of the Fourier spectrum, which a shift leaves unchanged and a
 * turn turns with the image: the log-magnitude resampled on rings (angles over half a turn, since
 * the magnitude of a real image is symmetric) is compared at every angular offset. That gives the
 * turn up to a half turn, for objects and oriented textures alike. The half turn and the shift come
 * from phase correlation of the reference with the test turned back by each candidate: the
 * candidate whose correlation peak is higher wins and its peak's position is the shift (Reddy and
 * Chatterji's Fourier-Mellin registration without the scale axis).
 *
 * Everything here is pure maths on Float32Array thumbnails; angles in degrees, counter-clockwise
 * on screen (y grows downward), as image/warp.ts turns images.
 */
import { fft2 } from './fft.js';
import { grayBoxMean } from './gray.js';
import type { RgbImage } from './types.js';
import { composeWarps, warpScalar, type Warp } from './warp.js';

/** A square gray thumbnail of an image (aspect kept, centred, padded with the image's mean). */
export interface Thumbnail {
  size: number;
  data: Float32Array;
  /** Thumbnail pixels per image pixel. */
  scale: number;
}

/** Box-filtered gray thumbnail whose longer side is `size` pixels (a power of two for the FFT). */
export function grayThumbnail(img: RgbImage, size: number): Thumbnail {
  const { width: w, height: h } = img;
  const scale = size / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale));
  const th = Math.max(1, Math.round(h * scale));
  const cells = grayBoxMean(img, tw, th);
  let total = 0;
  for (let i = 0; i < cells.length; i++) total += cells[i];
  const out = new Float32Array(size * size).fill(total / cells.length);
  const ox = (size - tw) >> 1;
  const oy = (size - th) >> 1;
  for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) out[(y + oy) * size + x + ox] = cells[y * tw + x];
  return { size, data: out, scale };
}

/** Mean removed, times a separable Hann window: the image's own edges leave the spectrum. */
function windowed(t: Thumbnail): Float64Array {
  const n = t.size;
  let m = 0;
  for (const v of t.data) m += v;
  m /= t.data.length;
  const hann = Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n));
  const out = new Float64Array(n * n);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) out[y * n + x] = (t.data[y * n + x] - m) * hann[x] * hann[y];
  return out;
}

export interface SignatureOptions {
  /** Angular bins over half a turn (default 180: one degree each). */
  angles?: number;
  /** Rings, log-spaced between `minRadius` and `maxRadius` (fractions of the thumbnail side). */
  rings?: number;
  minRadius?: number;
  maxRadius?: number;
}

/**
 * The turn signature: log(1 + |F|) on `rings` x `angles` polar samples (log-spaced rings), each
 * ring with its mean removed and scaled to unit length, so that every band of frequencies counts
 * alike. Row r, column a is ring r at angle a x 180 / angles degrees.
 */
export function turnSignature(t: Thumbnail, o: SignatureOptions = {}): { data: Float32Array; rings: number; angles: number } {
  const n = t.size;
  const angles = o.angles ?? 180;
  const rings = o.rings ?? 24;
  const r0 = (o.minRadius ?? 3 / 128) * n;
  const r1 = (o.maxRadius ?? 0.4) * n;
  const re = windowed(t);
  const im = new Float64Array(n * n);
  fft2(re, im, n);
  const mag = new Float64Array(n * n);
  for (let i = 0; i < mag.length; i++) mag[i] = Math.log1p(Math.hypot(re[i], im[i]));
  const wrap = (k: number) => ((k % n) + n) % n;
  const at = (kx: number, ky: number) => {
    const x0 = Math.floor(kx);
    const y0 = Math.floor(ky);
    const fx = kx - x0;
    const fy = ky - y0;
    const v = (x: number, y: number) => mag[wrap(y) * n + wrap(x)];
    return (v(x0, y0) * (1 - fx) + v(x0 + 1, y0) * fx) * (1 - fy) + (v(x0, y0 + 1) * (1 - fx) + v(x0 + 1, y0 + 1) * fx) * fy;
  };
  const data = new Float32Array(rings * angles);
  for (let r = 0; r < rings; r++) {
    const radius = rings === 1 ? r0 : r0 * Math.pow(r1 / r0, r / (rings - 1));
    const row = new Float64Array(angles);
    // Counter-clockwise on screen: the y axis points down.
    for (let a = 0; a < angles; a++) row[a] = at(radius * Math.cos((a * Math.PI) / angles), -radius * Math.sin((a * Math.PI) / angles));
    let m = 0;
    for (const v of row) m += v;
    m /= angles;
    let ss = 0;
    for (let a = 0; a < angles; a++) ss += (row[a] - m) ** 2;
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let a = 0; a < angles; a++) data[r * angles + a] = (row[a] - m) * inv;
  }
  return { data, rings, angles };
}

/**
 * Correlation of two signatures at every angular offset s (bins): mean over rings of
 * sum_a test[a] ref[a - s]. Its maximum is at the test's turn against the reference (mod 180).
 */
export function turnCorrelation(test: ReturnType<typeof turnSignature>, ref: ReturnType<typeof turnSignature>): Float64Array {
  const { rings, angles } = test;
  if (ref.rings !== rings || ref.angles !== angles) throw new Error('turnCorrelation: signatures of different shapes');
  const out = new Float64Array(angles);
  // Each reference ring twice in a row, so that ref[a - s] is one index without a modulo.
  const twice = new Float32Array(2 * angles);
  const sums = new Float64Array(angles);
  for (let r = 0; r < rings; r++) {
    const o = r * angles;
    twice.set(ref.data.subarray(o, o + angles), 0);
    twice.set(ref.data.subarray(o, o + angles), angles);
    for (let s = 0; s < angles; s++) {
      let c = 0;
      const base = angles - s;
      for (let a = 0; a < angles; a++) c += test.data[o + a] * twice[base + a];
      sums[s] += c;
    }
  }
  for (let s = 0; s < angles; s++) out[s] = sums[s] / rings;
  return out;
}

/** The Fourier transform of a windowed thumbnail. */
export interface Spectrum {
  re: Float64Array;
  im: Float64Array;
}

export function spectrum(t: Thumbnail): Spectrum {
  const re = windowed(t);
  const im = new Float64Array(re.length);
  fft2(re, im, t.size);
  return { re, im };
}

/**
 * Phase correlation: the shift d (thumbnail pixels, wrapped to +-size/2) with a(x) ~ b(x - d), and
 * the height of the normalised correlation peak (1 for an exact cyclic shift, near 0 for unrelated
 * content).
 */
export function phaseCorrelation(a: Thumbnail, b: Thumbnail | Spectrum): { dx: number; dy: number; peak: number } {
  const n = a.size;
  const { re: br, im: bi } = 're' in b ? b : spectrum(b);
  if (br.length !== n * n) throw new Error('phaseCorrelation: thumbnails of different sizes');
  const { re: ar, im: ai } = spectrum(a);
  for (let i = 0; i < n * n; i++) {
    // a * conj(b), normalised to unit magnitude.
    const re = ar[i] * br[i] + ai[i] * bi[i];
    const im = ai[i] * br[i] - ar[i] * bi[i];
    const m = Math.hypot(re, im);
    ar[i] = m > 1e-12 ? re / m : 0;
    ai[i] = m > 1e-12 ? im / m : 0;
  }
  fft2(ar, ai, n, true);
  let best = 0;
  for (let i = 1; i < n * n; i++) if (ar[i] > ar[best]) best = i;
  const half = n / 2;
  const wrapShift = (v: number) => (v >= half ? v - n : v);
  return { dx: wrapShift(best % n), dy: wrapShift(Math.floor(best / n)), peak: ar[best] };
}

/** Whole-degree turn in (-180, 180]. */
export function normaliseAngle(a: number): number {
  let x = ((a % 360) + 360) % 360;
  if (x > 180) x -= 360;
  return x;
}

export interface PoseEstimate {
  /** test ~ warpRgb(reference, warp), in the full image's pixels. */
  warp: Warp;
  /** Turn correlation at the chosen turn (mod 180) and with the image left as it is. */
  turnScore: number;
  unturnedScore: number;
  /** Phase-correlation peak of the chosen pose. */
  peak: number;
}

/** Reference data for pose estimates, computed once per reference. */
export interface PoseReference {
  thumb: Thumbnail;
  signature: ReturnType<typeof turnSignature>;
  spectrum: Spectrum;
}

export const POSE_THUMBNAIL = 128;

export function poseReference(img: RgbImage, size = POSE_THUMBNAIL): PoseReference {
  const thumb = grayThumbnail(img, size);
  return { thumb, signature: turnSignature(thumb), spectrum: spectrum(thumb) };
}

/**
 * The pose of `test` against one reference: the turn (mod 180) at the turn correlation's maximum,
 * then of it and its half turn the one whose phase correlation with the reference is higher, with
 * that correlation's shift. Shifts are scaled from thumbnail to image pixels.
 */
export function estimatePose(test: PoseReference, ref: PoseReference): PoseEstimate {
  const corr = turnCorrelation(test.signature, ref.signature);
  let best = 0;
  for (let s = 1; s < corr.length; s++) if (corr[s] > corr[best]) best = s;
  const step = 180 / corr.length;
  const base = best * step;
  let chosen: { warp: Warp; peak: number } | null = null;
  for (const angle of [base, base - 180]) {
    // Turn the test back, then find how far the turned-back test is shifted from the reference.
    const back: Thumbnail = { ...test.thumb, data: warpScalar(test.thumb.data, test.thumb.size, test.thumb.size, { angle: -angle, dx: 0, dy: 0 }) };
    const p = phaseCorrelation(back, ref.spectrum);
    if (!chosen || p.peak > chosen.peak) {
      const inThumb = composeWarps({ angle: 0, dx: p.dx, dy: p.dy }, { angle, dx: 0, dy: 0 });
      chosen = { warp: { angle: normaliseAngle(inThumb.angle), dx: inThumb.dx / test.thumb.scale, dy: inThumb.dy / test.thumb.scale }, peak: p.peak };
    }
  }
  return { warp: chosen!.warp, turnScore: corr[best], unturnedScore: corr[0], peak: chosen!.peak };
}
