/** The mutual search's distances in the model-output cache (src/methods/mutual/distance-cache.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregateDistances, buildPool, comparedColumns, mutualDistances, type MutualOptions, type PartDistances } from '../../../src/methods/mutual/algorithm.js';
import { cachedDistances, packDistances, packedLength, partLayout, unpackDistances } from '../../../src/methods/mutual/distance-cache.js';
import type { FeatureGrid } from '../../../src/models/backbones/types.js';
import { DiskCache } from '../../../src/util/disk-cache.js';
import { mulberry32 } from '../../../src/util/random.js';

function grids(count: number, seed: number): FeatureGrid[][] {
  const rnd = mulberry32(seed);
  return Array.from({ length: count }, () => [5, 3].map((side) => ({ data: Float32Array.from({ length: side * side * 6 }, () => rnd() - 0.5), gridWidth: side, gridHeight: side, dim: 6, coverWidth: 80, coverHeight: 80 })));
}

describe('mutual distance cache', () => {
  it('packs and unpacks every part, with and without reference distances', () => {
    const g = grids(1, 1)[0];
    const parts: PartDistances[] = [
      { name: 'a/k1', grid: g[0], n: 2, dist: Float32Array.from([1, 2, 3, 4, 5, 6]), reference: Float32Array.from([7, 8]) },
      { name: 'b/k1', grid: g[1], n: 1, dist: Float32Array.from([9, 10, 11]), reference: null },
    ];
    const flat = packDistances(parts, 3);
    expect(Array.from(flat)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const layout = parts.map((p) => ({ name: p.name, n: p.n, reference: p.reference !== null }));
    expect(packedLength(layout, 3)).toBe(11);
    const back = unpackDistances(flat, layout, 3, [g[0], g[1]]);
    expect(back.map((p) => [p.name, Array.from(p.dist), p.reference && Array.from(p.reference)])).toEqual([
      ['a/k1', [1, 2, 3, 4, 5, 6], [7, 8]],
      ['b/k1', [9, 10, 11], null],
    ]);
    expect(() => unpackDistances(flat.subarray(1), layout, 3, [g[0], g[1]])).toThrow(/values for a layout/);
  });

  it('a second aggregation reads the search from the cache and gives the same scores', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iapas-mutual-dist-'));
    try {
      const tests = grids(5, 2);
      const refs = grids(2, 3);
      const options: MutualOptions = { keep: 0.5, kernels: [1, 3], maxCompared: 0, pca: 0, exclude: 0, referenceWeight: 0.5, seed: 1, map: {} };
      const pool = await buildPool(['l1', 'l2'], tests, options, refs);
      const { layout, grids: partGrids } = partLayout(pool, tests[1]);
      expect(layout.map((p) => [p.name, p.n, p.reference])).toEqual([['l1/k1', 25, true], ['l1/k3', 25, true], ['l2/k1', 9, true], ['l2/k3', 9, true]]);
      const columns = comparedColumns(5, 1, 0);
      let searches = 0;
      const search = () => {
        searches++;
        return mutualDistances(tests[1], pool, columns);
      };
      const cache = new DiskCache(dir);
      const first = await cachedDistances(cache, 'k', layout, pool.size, partGrids, search);
      await cache.flush();
      const second = await cachedDistances(new DiskCache(dir), 'k', layout, pool.size, partGrids, search);
      expect(searches).toBe(1);
      const a = aggregateDistances(first, pool, columns);
      const b = aggregateDistances(second, pool, columns);
      for (let s = 0; s < a.length; s++) expect(Array.from(b[s].scores)).toEqual(Array.from(a[s].scores));
      // Another key is a miss: the search runs again.
      await cachedDistances(cache, 'other', layout, pool.size, partGrids, search);
      expect(searches).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
