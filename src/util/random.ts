/**
 * Seeded pseudo-random numbers for everything that must be reproducible (reference sampling,
 * synthetic data, sweeps). mulberry32: a 32-bit state generator, fast and well distributed for
 * sampling purposes (not cryptographic). The same seed gives the same sequence on every platform.
 */

/** Returns a function yielding floats in [0, 1) from a 32-bit seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [0, n). */
export function randomInt(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

/**
 * k distinct items drawn without replacement, in the order drawn (partial Fisher-Yates).
 * Like Python's random.sample in spirit, but not the same sequence for the same seed.
 */
export function sampleWithoutReplacement<T>(items: readonly T[], k: number, rng: () => number): T[] {
  const pool = items.slice();
  const n = Math.min(Math.max(0, Math.floor(k)), pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + randomInt(rng, pool.length - i);
    const tmp = pool[i];
    pool[i] = pool[j];
    pool[j] = tmp;
  }
  return pool.slice(0, n);
}

