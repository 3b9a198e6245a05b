/**
 * The greedy k-centre coreset: the onnxruntime selection must make exactly the choices of the
 * plain O(m n d) loop (ties to the lowest row), stop when every row coincides with a kept one,
 * keep bank rows, and cover the bank as well as the plain loop does.
 */
import { describe, expect, it } from 'vitest';
import { coresetSize, selectCoreset } from '../../../src/methods/components/coreset.js';
import { greedyKCentreOrt } from '../../../src/methods/components/k-centre-ort.js';
import { mulberry32 } from '../../../src/util/random.js';

/** The plain greedy loop in float64: start at row 0, add the farthest row (lowest index on ties) while one is farther than 0. */
function naiveGreedy(x: Float32Array, n: number, d: number, m: number): number[] {
  const minD = new Float64Array(n).fill(Infinity);
  const out = [0];
  while (out.length < Math.min(m, n)) {
    const c = out[out.length - 1];
    let best = -1;
    let bestV = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k] - x[c * d + k]) ** 2;
      if (s < minD[i]) minD[i] = s;
      if (minD[i] > bestV) {
        bestV = minD[i];
        best = i;
      }
    }
    if (best < 0) break;
    out.push(best);
  }
  return out;
}

/** Rows of small integers: every distance is exact in float32 too, and ties are frequent. */
function integerRows(n: number, d: number, max: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  return Float32Array.from({ length: n * d }, () => Math.floor(rnd() * max));
}

/** Clustered rows (a bank of patches looks like this: many near-copies of a few kinds). */
function clustered(n: number, d: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const centres = Float32Array.from({ length: 12 * d }, () => rnd() * 4 - 2);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rnd() * 12);
    for (let k = 0; k < d; k++) x[i * d + k] = centres[c * d + k] + 0.3 * (rnd() - 0.5);
  }
  return x;
}

/** Max over rows of the distance to the nearest kept row. */
function coveringRadius(x: Float32Array, n: number, d: number, kept: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < kept.length; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k] - x[kept[j] * d + k]) ** 2;
      best = Math.min(best, s);
    }
    worst = Math.max(worst, best);
  }
  return Math.sqrt(worst);
}

describe('greedy k-centre on onnxruntime', () => {
  it('makes the choices of the plain greedy loop, in order, ties included (exact integer rows)', async () => {
    for (const [n, d, m, seed] of [
      [500, 8, 50, 1],
      [800, 3, 200, 2], // 512 possible rows: duplicates, ties and an early stop
      [300, 16, 300, 3],
      [6000, 8, 1500, 4], // long enough for many levels and updates of left-out rows
      [2048, 2, 2048, 5], // 64 possible rows: ends when they are all kept
    ]) {
      const x = integerRows(n, d, 8, seed);
      expect(Array.from(await greedyKCentreOrt(x, n, d, m)), `n=${n} d=${d} m=${m}`).toEqual(naiveGreedy(x, n, d, m));
    }
  });

  it('makes the plain loop choices on well-separated real-valued rows', async () => {
    // Points spread over a box, with distinct distances: float32 rounding cannot swap two picks.
    const n = 1500;
    const d = 24;
    const rnd = mulberry32(11);
    const x = Float32Array.from({ length: n * d }, () => rnd() * 10 - 3);
    expect(Array.from(await greedyKCentreOrt(x, n, d, 120))).toEqual(naiveGreedy(x, n, d, 120));
  });

  it('stops when every row coincides with a kept one (duplicates)', async () => {
    expect(Array.from(await greedyKCentreOrt(Float32Array.from([0, 0, 1, 1, 0, 0, 1, 1, 0, 0]), 5, 2, 5))).toEqual([0, 1]);
    // 30 distinct real-valued rows, each 7 times at scattered positions: one of each is kept, in
    // the plain loop's order of kinds, and rounding noise never makes a copy look far.
    const kinds = 30;
    const d = 12;
    const rnd = mulberry32(5);
    const base = Float32Array.from({ length: kinds * d }, () => rnd() * 2 - 1);
    const kindOf = Array.from({ length: kinds * 7 }, (_, i) => i % kinds).sort(() => rnd() - 0.5);
    const n = kindOf.length;
    const x = new Float32Array(n * d);
    kindOf.forEach((kind, i) => x.set(base.subarray(kind * d, (kind + 1) * d), i * d));
    const kept = await greedyKCentreOrt(x, n, d, 100);
    expect(kept.length).toBe(kinds);
    expect(Array.from(kept, (i) => kindOf[i])).toEqual(naiveGreedy(x, n, d, 100).map((i) => kindOf[i]));
    // All rows equal: row 0 alone.
    expect(Array.from(await greedyKCentreOrt(new Float32Array(40).fill(0.3), 10, 4, 5))).toEqual([0]);
  });

  it('handles m = 1, m >= n and empty input', async () => {
    const x = integerRows(50, 4, 8, 6);
    expect(Array.from(await greedyKCentreOrt(x, 50, 4, 1))).toEqual([0]);
    expect(Array.from(await greedyKCentreOrt(x, 50, 4, 80))).toEqual(naiveGreedy(x, 50, 4, 50));
    expect(await greedyKCentreOrt(new Float32Array(0), 0, 4, 3)).toHaveLength(0);
    await expect(greedyKCentreOrt(x, 49, 4, 3)).rejects.toThrow(/49 x 4/);
  });

  it('covers clustered real-valued rows as the plain loop does, to float rounding', async () => {
    const n = 3000;
    const d = 64;
    const m = 300;
    const x = clustered(n, d, 7);
    const kept = await greedyKCentreOrt(x, n, d, m);
    const plain = naiveGreedy(x, n, d, m);
    expect(kept.length).toBe(m);
    expect(new Set(kept).size).toBe(m);
    const r = coveringRadius(x, n, d, kept);
    const rPlain = coveringRadius(x, n, d, plain);
    expect(Math.abs(r - rPlain)).toBeLessThanOrEqual(1e-5 * rPlain);
  });
});

describe('coreset', () => {
  it('keeps round(fraction n) bank rows that cover the bank better than as many random rows', async () => {
    const n = 1200;
    const d = 96;
    const x = clustered(n, d, 4);
    const { rows, indices } = await selectCoreset({ data: x, n, dim: d }, { fraction: 0.05, projection: 32, seed: 0 });
    expect(rows.n).toBe(coresetSize(n, 0.05));
    expect(rows.n).toBe(60);
    expect(indices[0]).toBe(0);
    expect(new Set(indices).size).toBe(60);
    indices.forEach((j, i) => expect(rows.data.subarray(i * d, (i + 1) * d)).toEqual(x.subarray(j * d, (j + 1) * d)));
    const rnd = mulberry32(8);
    const random = Array.from({ length: 60 }, () => Math.floor(rnd() * n));
    expect(coveringRadius(x, n, d, indices)).toBeLessThan(coveringRadius(x, n, d, random));
  });

  it('keeps every row at fraction 1 or when round(fraction n) >= n, one row at a tiny fraction, and refuses 0', async () => {
    const n = 40;
    const d = 6;
    const x = clustered(n, d, 9);
    for (const fraction of [1, 0.99]) {
      const all = await selectCoreset({ data: x, n, dim: d }, { fraction, projection: 4, seed: 0 });
      expect(all.rows.n).toBe(n);
      expect(Array.from(all.indices)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    const one = await selectCoreset({ data: x, n, dim: d }, { fraction: 0.001, projection: 4, seed: 0 });
    expect(Array.from(one.indices)).toEqual([0]);
    expect(one.rows.data).toEqual(x.subarray(0, d));
    await expect(selectCoreset({ data: x, n, dim: d }, { fraction: 0, projection: 4, seed: 0 })).rejects.toThrow(/fraction/);
  });
});

describe('PCA', () => {
  it('finds the dominant directions of the rows and projects centred rows onto them', async () => {
    const { fitPca, applyPca } = await import('../../../src/methods/components/pca.js');
    const rnd = mulberry32(2);
    const n = 3000;
    const d = 6;
    // Variance 9 along (1,1,0,0,0,0)/sqrt2, 1 along e3, 0.01 elsewhere; mean (5, 0, ...).
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = 3 * (rnd() * 2 - 1) * Math.sqrt(3);
      const b = (rnd() * 2 - 1) * Math.sqrt(3);
      for (let k = 0; k < d; k++) x[i * d + k] = 0.1 * (rnd() - 0.5);
      x[i * d] += 5 + a / Math.SQRT2;
      x[i * d + 1] += a / Math.SQRT2;
      x[i * d + 2] += b;
    }
    const p = fitPca({ data: x, n, dim: d }, 2);
    expect(p.mean[0]).toBeCloseTo(5, 0);
    expect(Math.abs(p.axes[0 * 2 + 0])).toBeCloseTo(Math.SQRT1_2, 2);
    expect(Math.abs(p.axes[1 * 2 + 0])).toBeCloseTo(Math.SQRT1_2, 2);
    expect(Math.abs(p.axes[2 * 2 + 1])).toBeCloseTo(1, 2);
    const y = await applyPca({ data: x.subarray(0, d), n: 1, dim: d }, p);
    const centred = Array.from(x.subarray(0, d), (v, k) => v - p.mean[k]);
    expect(y.data[0]).toBeCloseTo(centred.reduce((s, v, k) => s + v * p.axes[k * 2], 0), 4);
  });
});
