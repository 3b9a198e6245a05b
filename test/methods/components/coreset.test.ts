/**
 * The greedy k-centre coreset: the accelerated selection must make exactly the choices of the
 * plain O(m n d) loop (ties to the lowest row), keep bank rows, and cover the bank.
 */
import { describe, expect, it } from 'vitest';
import { coresetSize, greedyKCentre, selectCoreset } from '../../../src/methods/components/coreset.js';
import { mulberry32 } from '../../../src/util/random.js';

function plainGreedy(x: Float32Array, n: number, d: number, m: number): number[] {
  const minD = new Float64Array(n).fill(Infinity);
  const out: number[] = [];
  let cur = 0;
  for (let it = 0; it < m; it++) {
    out.push(cur);
    let best = -1;
    let bestV = -1;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k] - x[cur * d + k]) ** 2;
      if (s < minD[i]) minD[i] = s;
      if (minD[i] > bestV) {
        bestV = minD[i];
        best = i;
      }
    }
    if (!(bestV > 0)) break;
    cur = best;
  }
  return out;
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

describe('greedy coreset', () => {
  it('makes the choices of the plain greedy loop, in order', () => {
    for (const [n, d, m, seed] of [
      [500, 8, 50, 1],
      [800, 3, 200, 2],
      [300, 16, 300, 3],
    ]) {
      const x = clustered(n, d, seed);
      expect(Array.from(greedyKCentre(x, n, d, m))).toEqual(plainGreedy(x, n, d, m));
    }
  });

  it('stops when every row coincides with a kept one (duplicates)', () => {
    const x = Float32Array.from([0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    expect(Array.from(greedyKCentre(x, 5, 2, 5))).toEqual([0, 1]);
  });

  it('keeps round(fraction n) bank rows that cover the bank better than as many random rows', async () => {
    const n = 1200;
    const d = 96;
    const x = clustered(n, d, 4);
    const { rows, indices } = await selectCoreset({ data: x, n, dim: d }, { fraction: 0.05, projection: 32, seed: 0 });
    expect(rows.n).toBe(coresetSize(n, 0.05));
    expect(rows.n).toBe(60);
    expect(new Set(indices).size).toBe(60);
    indices.forEach((j, i) => expect(rows.data.subarray(i * d, (i + 1) * d)).toEqual(x.subarray(j * d, (j + 1) * d)));
    const rnd = mulberry32(8);
    const random = Array.from({ length: 60 }, () => Math.floor(rnd() * n));
    expect(coveringRadius(x, n, d, indices)).toBeLessThan(coveringRadius(x, n, d, random));
    const all = await selectCoreset({ data: x, n, dim: d }, { fraction: 1, projection: 32, seed: 0 });
    expect(all.rows.n).toBe(n);
    await expect(selectCoreset({ data: x, n, dim: d }, { fraction: 0, projection: 32, seed: 0 })).rejects.toThrow(/fraction/);
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
