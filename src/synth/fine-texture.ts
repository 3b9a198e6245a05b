/**
 * DAGM-like fine textures: stationary grey noise at a fine scale, with defects that change the
 * texture rather than paint over it (DAGM 2007's classes are such textures, its defects low-contrast
 * disturbances of the same brightness). The shared sets hold no texture of this kind (MTD and
 * KSDD1 are coarse surfaces with dark, high-contrast defects), and the few-shot scales that win
 * on objects lose on it, so a choice between scales needs a set like this to be checked on.
 *
 * Defects, each changing exactly the pixels of its mask:
 * - 'patch': the texture inside an ellipse redrawn at (1 + s) times the grain, at the same mean and spread;
 * - 'smudge': the texture inside an ellipse flattened towards its mean (contrast x (1 - 0.65 s));
 * - 'scratch': a thin straight line a little darker than the surface (-0.12 s);
 * with s the defects' strength (1 by default; lower is subtler).
 * Pure rendering from a seeded PRNG; `writeFineTextureSet` is the IO (MVTec layout).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { savePng } from '../image/io.js';
import { fractalNoise, valueNoise } from './noise.js';
import { deriveSeed, mulberry32 } from './rng.js';
import { uniform, type Rng } from './rng.js';

export const FINE_TEXTURES = ['speckle', 'fibre'] as const;
export type FineTexture = (typeof FINE_TEXTURES)[number];
export const FINE_DEFECTS = ['patch', 'smudge', 'scratch'] as const;
export type FineDefect = (typeof FINE_DEFECTS)[number];

/** Grey values in [0, 1] of one texture at a grain scale factor (1 = the normal grain). */
export function renderFineTexture(kind: FineTexture, rng: Rng, size: number, grain = 1): Float32Array {
  const g = new Float32Array(size * size);
  if (kind === 'speckle') {
    const n = fractalNoise(rng, size, size, 6 * grain, 3);
    for (let i = 0; i < g.length; i++) g[i] = 0.2 + 0.6 * n[i];
  } else {
    const long = valueNoise(rng, size, size, 40 * grain, 2 * grain);
    const fine = valueNoise(rng, size, size, 2 * grain);
    for (let i = 0; i < g.length; i++) g[i] = 0.25 + 0.45 * long[i] + 0.15 * fine[i];
  }
  return g;
}

function meanStd(v: Float32Array, mask: Uint8Array): { mean: number; std: number } {
  let s = 0;
  let q = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (!mask[i]) continue;
    s += v[i];
    q += v[i] * v[i];
    n++;
  }
  const mean = s / Math.max(1, n);
  return { mean, std: Math.sqrt(Math.max(0, q / Math.max(1, n) - mean * mean)) };
}

function ellipseMask(rng: Rng, size: number): Uint8Array {
  const r = size * uniform(rng, 0.04, 0.08);
  const aspect = uniform(rng, 0.6, 1.4);
  const rot = uniform(rng, 0, Math.PI);
  const cx = uniform(rng, 2 * r, size - 2 * r);
  const cy = uniform(rng, 2 * r, size - 2 * r);
  const m = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const u = dx * Math.cos(rot) + dy * Math.sin(rot);
      const v = (-dx * Math.sin(rot) + dy * Math.cos(rot)) * aspect;
      if (u * u + v * v <= r * r) m[y * size + x] = 1;
    }
  }
  return m;
}

function lineMask(rng: Rng, size: number): Uint8Array {
  const len = size * uniform(rng, 0.2, 0.35);
  const a = uniform(rng, 0, Math.PI);
  const cx = uniform(rng, 0.3 * size, 0.7 * size);
  const cy = uniform(rng, 0.3 * size, 0.7 * size);
  const half = Math.max(1, size * 0.004);
  const m = new Uint8Array(size * size);
  const ux = Math.cos(a);
  const uy = Math.sin(a);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const along = dx * ux + dy * uy;
      const across = -dx * uy + dy * ux;
      if (Math.abs(along) <= len / 2 && Math.abs(across) <= half) m[y * size + x] = 1;
    }
  }
  return m;
}

/** Draws one defect into the grey image (in place); returns its 0/1 mask. */
export function drawFineDefect(kind: FineDefect, texture: FineTexture, rng: Rng, grey: Float32Array, size: number, strength = 1): Uint8Array {
  if (kind === 'scratch') {
    const m = lineMask(rng, size);
    for (let i = 0; i < grey.length; i++) if (m[i]) grey[i] = Math.max(0, grey[i] - 0.12 * strength);
    return m;
  }
  const m = ellipseMask(rng, size);
  const inside = meanStd(grey, m);
  if (kind === 'smudge') {
    for (let i = 0; i < grey.length; i++) if (m[i]) grey[i] = inside.mean + (1 - 0.65 * strength) * (grey[i] - inside.mean);
    return m;
  }
  const coarse = renderFineTexture(texture, rng, size, 1 + strength);
  const c = meanStd(coarse, m);
  const k = inside.std / Math.max(1e-6, c.std);
  for (let i = 0; i < grey.length; i++) if (m[i]) grey[i] = Math.min(1, Math.max(0, inside.mean + k * (coarse[i] - c.mean)));
  return m;
}

function greyToRgb(grey: Float32Array): Uint8Array {
  const out = new Uint8Array(grey.length * 3);
  for (let i = 0; i < grey.length; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = Math.round(Math.min(1, Math.max(0, grey[i])) * 255);
  return out;
}

export interface FineTextureCounts {
  train: number;
  testGood: number;
  anomalous: number;
  /** Defect strength (1 = the default; lower is subtler). */
  strength?: number;
}

/** Writes `<root>/<texture>/{train/good,test/good,test/<defect>,ground_truth/<defect>}` (MVTec layout). */
export async function writeFineTextureSet(root: string, seed: number, size: number, counts: FineTextureCounts): Promise<void> {
  const name = (i: number) => String(i).padStart(3, '0');
  for (const t of FINE_TEXTURES) {
    const good = async (split: 'train' | 'test', n: number) => {
      await mkdir(join(root, t, split, 'good'), { recursive: true });
      for (let i = 0; i < n; i++) {
        const grey = renderFineTexture(t, mulberry32(deriveSeed(seed, t, split, i)), size);
        await savePng(join(root, t, split, 'good', `${name(i)}.png`), { width: size, height: size, data: greyToRgb(grey) });
      }
    };
    await good('train', counts.train);
    await good('test', counts.testGood);
    const perDefect = new Map<FineDefect, number>();
    for (let i = 0; i < counts.anomalous; i++) {
      const d = FINE_DEFECTS[i % FINE_DEFECTS.length];
      const j = perDefect.get(d) ?? 0;
      perDefect.set(d, j + 1);
      await mkdir(join(root, t, 'test', d), { recursive: true });
      await mkdir(join(root, t, 'ground_truth', d), { recursive: true });
      const rng = mulberry32(deriveSeed(seed, t, d, j));
      const grey = renderFineTexture(t, rng, size);
      const mask = drawFineDefect(d, t, rng, grey, size, counts.strength ?? 1);
      await savePng(join(root, t, 'test', d, `${name(j)}.png`), { width: size, height: size, data: greyToRgb(grey) });
      await savePng(join(root, t, 'ground_truth', d, `${name(j)}_mask.png`), { width: size, height: size, data: mask }, { mask: true });
    }
  }
}
