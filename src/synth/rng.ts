/** Small seeded PRNG (mulberry32) and a string hash to derive independent per-sample seeds. */

import { mulberry32 } from '../util/random.js';

export { mulberry32 };
export type Rng = ReturnType<typeof mulberry32>;

/** FNV-1a over the parts' text: a stable 32-bit seed per (dataset seed, category, split, index). */
export function deriveSeed(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

export function randInt(rng: Rng, lo: number, hiInclusive: number): number {
  return lo + Math.floor(rng() * (hiInclusive - lo + 1));
}
