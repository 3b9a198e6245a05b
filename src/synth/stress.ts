/**
 * Stress variants of a real dataset, for measuring how a preset holds up when test images differ
 * from its references in ways a real line produces: objects placed at another angle and offset,
 * another exposure, a softer focus. Only test images change; the references (the train split)
 * are copied as they are, so a method sees the same normal data and a new kind of test. Masks move
 * with their images (nearest neighbour), so the ground truth stays exact.
 *
 * The transforms are pure functions on interleaved RGB / 0-1 masks; `writeStressSet` is the IO.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { loadMask, loadRgb, savePng, type BinaryMask } from '../image/io.js';
import type { RgbImage } from '../image/types.js';
import { warpMask, warpRgb } from '../image/warp.js';
import { deriveSeed, mulberry32 } from './rng.js';

export const STRESS_KINDS = ['rotate', 'brightness', 'blur'] as const;
export type StressKind = (typeof STRESS_KINDS)[number];

/** What one test image went through (recorded per image, so a figure can be traced to it). */
export interface StressParams {
  /** Rotation about the image centre, degrees, counter-clockwise on screen. */
  angle: number;
  /** Shift after the rotation, pixels. */
  dx: number;
  dy: number;
  /** out = gain * in + bias, per channel value, clamped to 0..255. */
  gain: number;
  bias: number;
  /** Gaussian blur sigma in pixels (0: none). */
  sigma: number;
}

export interface StressOptions {
  /** Rotations are uniform in [-maxAngle, maxAngle] degrees (default 180: any angle). */
  maxAngle?: number;
  /** Shifts are uniform in [-maxShift, maxShift] of the image side (default 0.1). */
  maxShift?: number;
  /** Brightness: gain uniform in [1 - maxGain, 1 + maxGain] (0.3), bias in +-maxBias (25). */
  maxGain?: number;
  maxBias?: number;
  /** Blur sigma uniform in [minSigma, maxSigma] px of a 1024-px side, scaled to the image (2..6). */
  minSigma?: number;
  maxSigma?: number;
}

const IDENTITY: StressParams = { angle: 0, dx: 0, dy: 0, gain: 1, bias: 0, sigma: 0 };

/** The parameters of one image: one draw of `rng` per parameter the kind varies. */
export function drawStress(kind: StressKind, rng: () => number, side: number, o: StressOptions = {}): StressParams {
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng();
  if (kind === 'rotate') {
    const a = o.maxAngle ?? 180;
    const s = (o.maxShift ?? 0.1) * side;
    return { ...IDENTITY, angle: u(-a, a), dx: Math.round(u(-s, s)), dy: Math.round(u(-s, s)) };
  }
  if (kind === 'brightness') {
    const g = o.maxGain ?? 0.3;
    const b = o.maxBias ?? 25;
    return { ...IDENTITY, gain: u(1 - g, 1 + g), bias: u(-b, b) };
  }
  return { ...IDENTITY, sigma: (u(o.minSigma ?? 2, o.maxSigma ?? 6) * side) / 1024 };
}

export function adjustBrightness(img: RgbImage, gain: number, bias: number): RgbImage {
  return { ...img, data: Uint8Array.from(img.data, (v) => Math.max(0, Math.min(255, Math.round(gain * v + bias)))) };
}

/** Separable Gaussian blur (kernel to 3 sigma, edges clamped). */
export function blurRgb(img: RgbImage, sigma: number): RgbImage {
  if (sigma <= 0) return img;
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const ks = k.reduce((a, b) => a + b, 0);
  for (let i = 0; i < k.length; i++) k[i] /= ks;
  const { width: w, height: h } = img;
  const pass = (src: Float64Array, horizontal: boolean) => {
    const dst = new Float64Array(src.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let j = -r; j <= r; j++) {
            const xx = horizontal ? Math.min(w - 1, Math.max(0, x + j)) : x;
            const yy = horizontal ? y : Math.min(h - 1, Math.max(0, y + j));
            s += k[j + r] * src[(yy * w + xx) * 3 + c];
          }
          dst[(y * w + x) * 3 + c] = s;
        }
      }
    }
    return dst;
  };
  const out = pass(pass(Float64Array.from(img.data), true), false);
  return { width: w, height: h, data: Uint8Array.from(out, (v) => Math.max(0, Math.min(255, Math.round(v)))) };
}

/** The image and mask of a test sample after `p`. */
export function applyStress(img: RgbImage, mask: BinaryMask | null, p: StressParams): { image: RgbImage; mask: BinaryMask | null } {
  let image = img;
  let m = mask;
  if (p.angle !== 0 || p.dx !== 0 || p.dy !== 0) {
    image = warpRgb(image, p, 'reflect');
    if (m) m = warpMask(m, p);
  }
  if (p.gain !== 1 || p.bias !== 0) image = adjustBrightness(image, p.gain, p.bias);
  if (p.sigma > 0) image = blurRgb(image, p.sigma);
  return { image, mask: m };
}

/** What writeStressSet reads of a loaded dataset (a DatasetIndex is one). */
export interface StressSource {
  categories: string[];
  samples: Array<{ category: string; split: 'train' | 'test'; imagePath: string; maskPath: string | null; label: 'normal' | 'anomalous'; defectType: string }>;
}

export interface StressSetResult {
  root: string;
  /** Per written test image: its path in the new tree and what it went through. */
  images: Array<{ path: string; source: string; params: StressParams }>;
}

/**
 * Writes `<out>/<category>/{train/good, test/<defect>, ground_truth/<defect>}` (MVTec layout) from
 * a loaded dataset: train images copied byte for byte, test images transformed (seeded per
 * category, in the dataset's order) and written as PNG with their masks. Kind 'none' writes the
 * same tree untransformed: the baseline a stress variant is compared with, on the same files.
 */
export async function writeStressSet(source: StressSource, out: string, kind: StressKind | 'none', seed: number, o: StressOptions = {}): Promise<StressSetResult> {
  const images: StressSetResult['images'] = [];
  for (const category of source.categories) {
    const rng = mulberry32(deriveSeed(seed, 'stress', category));
    const samples = source.samples.filter((s) => s.category === category);
    const counters = new Map<string, number>();
    const name = (s: StressSource['samples'][number]) => {
      const key = `${s.split}/${s.defectType}`;
      const n = counters.get(key) ?? 0;
      counters.set(key, n + 1);
      return String(n).padStart(3, '0');
    };
    for (const s of samples) {
      const stem = name(s);
      const defect = s.label === 'normal' ? 'good' : s.defectType;
      if (s.split === 'train') {
        const dest = join(out, category, 'train', 'good', stem + extname(s.imagePath).toLowerCase());
        await mkdir(dirname(dest), { recursive: true });
        await copyFile(s.imagePath, dest);
        continue;
      }
      const img = await loadRgb(s.imagePath);
      const mask = s.maskPath ? await loadMask(s.maskPath) : null;
      const params = kind === 'none' ? IDENTITY : drawStress(kind, rng, Math.max(img.width, img.height), o);
      const r = applyStress(img, mask, params);
      const dest = join(out, category, 'test', defect, `${stem}.png`);
      await savePng(dest, r.image);
      if (r.mask) await savePng(join(out, category, 'ground_truth', defect, `${stem}_mask.png`), r.mask, { mask: true });
      images.push({ path: dest, source: s.imagePath, params });
    }
  }
  return { root: out, images };
}
