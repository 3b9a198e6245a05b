/** Value noise: random values on a lattice, smoothly interpolated; octaves summed for fractal noise. */
import type { Rng } from './rng.js';

/** One octave: lattice spacing cellX x cellY pixels, values in [0, 1]. */
export function valueNoise(rng: Rng, width: number, height: number, cellX: number, cellY = cellX): Float32Array {
  const gw = Math.ceil(width / cellX) + 2;
  const gh = Math.ceil(height / cellY) + 2;
  const lattice = new Float32Array(gw * gh);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng();
  const ox = rng() * cellX;
  const oy = rng() * cellY;
  const out = new Float32Array(width * height);
  const smooth = (t: number) => t * t * (3 - 2 * t);
  for (let y = 0; y < height; y++) {
    const fy = (y + oy) / cellY;
    const y0 = Math.floor(fy);
    const ty = smooth(fy - y0);
    for (let x = 0; x < width; x++) {
      const fx = (x + ox) / cellX;
      const x0 = Math.floor(fx);
      const tx = smooth(fx - x0);
      const a = lattice[y0 * gw + x0];
      const b = lattice[y0 * gw + x0 + 1];
      const c = lattice[(y0 + 1) * gw + x0];
      const d = lattice[(y0 + 1) * gw + x0 + 1];
      out[y * width + x] = (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
    }
  }
  return out;
}

/** Sum of octaves with halving cell size and amplitude, normalised to [0, 1]. */
export function fractalNoise(rng: Rng, width: number, height: number, cell: number, octaves: number): Float32Array {
  const out = new Float32Array(width * height);
  let amp = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) {
    const n = valueNoise(rng, width, height, Math.max(1, cell / 2 ** o));
    for (let i = 0; i < out.length; i++) out[i] += amp * n[i];
    total += amp;
    amp /= 2;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}
