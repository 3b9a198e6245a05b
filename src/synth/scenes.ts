/**
 * Procedural normal images: three textures and one object. Images are float RGB in [0, 1],
 * interleaved, plus (for objects) a foreground mask where defects may be drawn.
 */
import { fractalNoise, valueNoise } from './noise.js';
import { uniform, type Rng } from './rng.js';

export interface Scene {
  width: number;
  height: number;
  /** Interleaved RGB floats in [0, 1]. */
  rgb: Float32Array;
  /** 1 where a defect may go (the whole image for textures, the part for objects). */
  region: Uint8Array;
}

export const SCENE_KINDS = ['weave', 'brushed', 'disc', 'grain'] as const;
export type SceneKind = (typeof SCENE_KINDS)[number];

function fromGray(gray: Float32Array, tint: [number, number, number], size: number): Float32Array {
  const rgb = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.min(1, Math.max(0, gray[i] * tint[c]));
  return rgb;
}

/** Woven fabric: threads crossing over and under in a checkerboard, with fibre noise. */
function weave(rng: Rng, size: number): Float32Array {
  const period = size / 12;
  const px = uniform(rng, 0, period);
  const py = uniform(rng, 0, period);
  const fibre = valueNoise(rng, size, size, 2, 6);
  const fibre2 = valueNoise(rng, size, size, 6, 2);
  const shade = valueNoise(rng, size, size, size / 2);
  const gray = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + px) / period;
      const v = (y + py) / period;
      const cx = Math.floor(u);
      const cy = Math.floor(v);
      const horizontalOnTop = (cx + cy) % 2 === 0;
      // Thread cross-sections: bright in the middle, dark at the gaps between threads.
      const hp = Math.sin(Math.PI * (v - cy));
      const vp = Math.sin(Math.PI * (u - cx));
      const i = y * size + x;
      const g = horizontalOnTop ? 0.35 + 0.55 * hp * (0.8 + 0.2 * fibre2[i]) : 0.35 + 0.55 * vp * (0.8 + 0.2 * fibre[i]);
      gray[i] = g * (0.9 + 0.2 * shade[i]);
    }
  }
  return fromGray(gray, [uniform(rng, 0.95, 1.05), uniform(rng, 0.88, 0.95), uniform(rng, 0.7, 0.8)], size);
}

/** Brushed metal: fine horizontal streaks over a soft lighting gradient. */
function brushed(rng: Rng, size: number): Float32Array {
  const streaks = valueNoise(rng, size, size, size / 3, 1.2);
  const streaks2 = valueNoise(rng, size, size, size / 8, 2.5);
  const low = valueNoise(rng, size, size, size / 2);
  const angle = uniform(rng, 0, Math.PI * 2);
  const gray = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const grad = 0.08 * (((x / size - 0.5) * Math.cos(angle) + (y / size - 0.5) * Math.sin(angle)) * 2);
      gray[i] = 0.55 + grad + 0.12 * (streaks[i] - 0.5) + 0.08 * (streaks2[i] - 0.5) + 0.06 * (low[i] - 0.5);
    }
  }
  const t = uniform(rng, 0.97, 1.03);
  return fromGray(gray, [t, t, t * 1.04], size);
}

/** Grainy surface (stone, leather-like): fractal noise in a warm tone. */
function grain(rng: Rng, size: number): Float32Array {
  const n = fractalNoise(rng, size, size, size / 8, 5);
  const speck = valueNoise(rng, size, size, 1.5);
  const gray = new Float32Array(size * size);
  for (let i = 0; i < gray.length; i++) gray[i] = 0.35 + 0.45 * n[i] + 0.08 * (speck[i] - 0.5);
  return fromGray(gray, [uniform(rng, 1.0, 1.08), uniform(rng, 0.85, 0.92), uniform(rng, 0.68, 0.76)], size);
}

/** A metal washer on a dark, slightly noisy background, lit from one side. */
function disc(rng: Rng, size: number): { rgb: Float32Array; region: Uint8Array } {
  const cx = size * (0.5 + uniform(rng, -0.04, 0.04));
  const cy = size * (0.5 + uniform(rng, -0.04, 0.04));
  const R = size * uniform(rng, 0.33, 0.36);
  const r = R * uniform(rng, 0.34, 0.38);
  const light = uniform(rng, 0, Math.PI * 2);
  const bg = valueNoise(rng, size, size, size / 6);
  const tex = valueNoise(rng, size, size, 3);
  const rgb = new Float32Array(size * size * 3);
  const region = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const d = Math.hypot(dx, dy);
      let g: number;
      if (d <= R && d >= r) {
        // Bevelled ring: brighter towards the light, a darker band near both edges.
        const a = Math.atan2(dy, dx);
        const t = (d - r) / (R - r);
        const bevel = 1 - 0.35 * Math.max(0, 1 - Math.min(t, 1 - t) / 0.12);
        g = (0.55 + 0.2 * Math.cos(a - light)) * bevel + 0.06 * (tex[i] - 0.5);
        // Keep defects off the outermost pixels so a mask never crosses the silhouette.
        if (d <= R - 2 && d >= r + 2) region[i] = 1;
      } else {
        g = 0.12 + 0.06 * bg[i];
      }
      rgb[3 * i] = g;
      rgb[3 * i + 1] = g * 0.98;
      rgb[3 * i + 2] = g * 0.95;
    }
  }
  return { rgb, region };
}

export function renderScene(kind: SceneKind, rng: Rng, size: number): Scene {
  const full = () => new Uint8Array(size * size).fill(1);
  switch (kind) {
    case 'weave':
      return { width: size, height: size, rgb: weave(rng, size), region: full() };
    case 'brushed':
      return { width: size, height: size, rgb: brushed(rng, size), region: full() };
    case 'grain':
      return { width: size, height: size, rgb: grain(rng, size), region: full() };
    case 'disc': {
      const d = disc(rng, size);
      return { width: size, height: size, rgb: d.rgb, region: d.region };
    }
  }
}
