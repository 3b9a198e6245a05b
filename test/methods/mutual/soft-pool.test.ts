/**
 * Mutual scoring's soft pool weighting, interval of ranks and hybrid combinations
 * (src/methods/mutual/algorithm.ts): pure parts on small matrices and one synthetic pool.
 */
import { describe, expect, it } from 'vitest';
import { aggregateDistances, buildPool, combineWithReferences, comparedColumns, keepFractions, mapMaximum, meanOfSmallest, mutualDistances, mutualScores, rankWeights, weightedMeanOfSmallest, type MutualOptions, type PartDistances } from '../../../src/methods/mutual/algorithm.js';
import type { FeatureGrid } from '../../../src/models/backbones/types.js';
import { mulberry32 } from '../../../src/util/random.js';
import { sharedDefectPool } from '../../support/mutual-pools.js';

describe('mutual soft pool weighting', () => {
  it('equal weights give the plain mean of the smallest; any positive scale of them too', () => {
    const rnd = mulberry32(4);
    const J = 9;
    const d = Float32Array.from({ length: 6 * J }, rnd);
    const cols = [0, 1, 3, 4, 6, 7, 8];
    for (const count of [1, 2, 3, 7]) {
      const plain = meanOfSmallest(d, 6, J, cols, count);
      for (const w of [1, 0.3]) {
        const got = weightedMeanOfSmallest(d, 6, J, cols, new Float64Array(J).fill(w), count);
        for (let i = 0; i < 6; i++) expect(got[i]).toBeCloseTo(plain[i], 6);
      }
    }
    // All weights 0: equal weights again, never a division by zero.
    expect(weightedMeanOfSmallest(d, 6, J, cols, new Float64Array(J), 2)[3]).toBeCloseTo(meanOfSmallest(d, 6, J, cols, 2)[3], 6);
  });

  it('a light column fills less of the quota: the next smallest value takes its place in part', () => {
    // One row, 4 columns; keep 2 of 4 -> quota = half the total weight.
    const d = Float32Array.from([0.1, 0.2, 0.5, 0.9]);
    // Weights 0, 1, 1, 1: quota 1.5 -> all of 0.2 and half of 0.5.
    expect(weightedMeanOfSmallest(d, 1, 4, [0, 1, 2, 3], [0, 1, 1, 1], 2)[0]).toBeCloseTo((0.2 + 0.5 * 0.5) / 1.5, 6);
    // Weights 0.5, 1, 1, 1: quota 1.75 -> 0.5 of 0.1, 1 of 0.2, 0.25 of 0.5.
    expect(weightedMeanOfSmallest(d, 1, 4, [0, 1, 2, 3], [0.5, 1, 1, 1], 2)[0]).toBeCloseTo((0.05 + 0.2 + 0.125) / 1.75, 6);
    // Columns outside the compared ones are never read, whatever their weight.
    expect(weightedMeanOfSmallest(d, 1, 4, [1, 2, 3], [100, 1, 1, 1], 1)[0]).toBeCloseTo(0.2, 6);
  });

  it('rank weights: 1 for the most normal-looking image down to 1 - s for the most anomalous', () => {
    expect(Array.from(rankWeights([0.3, 0.9, 0.1, 0.5], 0.6))).toEqual([1 - 0.2, 1 - 0.6, 1, 1 - 0.4].map((v) => expect.closeTo(v, 9)));
    expect(Array.from(rankWeights([0.3, 0.9], 0))).toEqual([1, 1]);
    expect(Array.from(rankWeights([0.7], 1))).toEqual([1]);
    // Ties by index: the first of equal scores ranks lower (weighs more).
    expect(Array.from(rankWeights([0.5, 0.5, 0.5], 1))).toEqual([1, 0.5, 0]);
  });

  it('raises a defect that several images share, from the first pass alone and the same distances', async () => {
    // 10 images of 6 x 6 patches near 3 prototypes; images 0-3 share one defect at patch 0.
    const grids = sharedDefectPool();
    const options: MutualOptions = { keep: 0.5, kernels: [1], maxCompared: 0, pca: 0, exclude: 0, referenceWeight: 0, seed: 1, map: {} };
    const pool = await buildPool(['l'], grids, options);
    const dists = await Promise.all(grids.map((g, k) => mutualDistances(g, pool, comparedColumns(10, k, 0))));
    const pass = (w: Float64Array | null) => dists.map((d, k) => aggregateDistances(d, pool, comparedColumns(10, k, 0), w)[0].scores);
    const contrast = (scores: Float32Array[]) => {
      const defect = Math.min(...scores.slice(0, 4).map((s) => s[0]));
      const normal = Math.max(...scores.map((s, i) => Math.max(...s.slice(i < 4 ? 1 : 0))));
      return defect - normal;
    };
    const first = pass(null);
    expect(Array.from(first[7])).toEqual(Array.from((await mutualScores(grids[7], pool, comparedColumns(10, 7, 0)))[0].scores));
    const weights = rankWeights(first.map((s) => mapMaximum(s)), 1);
    // The defective images peak highest at the first pass, so they weigh least.
    expect(Math.max(...weights.slice(0, 4))).toBeLessThan(Math.min(...weights.slice(4)));
    const soft = pass(weights);
    expect(contrast(soft)).toBeGreaterThan(contrast(first) + 0.1);
    // Strength 0 changes nothing.
    expect(Array.from(pass(rankWeights(first.map((s) => mapMaximum(s)), 0))[2])).toEqual(Array.from(first[2]));
  });
});

describe('mutual interval of ranks and hybrid combinations', () => {
  it('keeps: the mean over several keep fractions of the mean of the smallest', () => {
    expect(keepFractions({ keep: 0.15, keeps: [] })).toEqual([0.15]);
    expect(keepFractions({ keep: 0.15, keeps: [0.1, 0.3] })).toEqual([0.1, 0.3]);
    const d = Float32Array.from([0.4, 0.1, 0.3, 0.2, 0.9, 0.6, 0.5, 0.7, 0.8, 0.0]);
    const part: PartDistances = { name: 'l/k1', grid: null as unknown as FeatureGrid, n: 1, dist: d, reference: null };
    const cols = Array.from({ length: 10 }, (_, j) => j);
    const agg = (keeps: number[]) => aggregateDistances([part], { size: 10, options: { keep: 0.2, keeps, kernels: [1], maxCompared: 0, pca: 0, exclude: 0, referenceWeight: 0, seed: 1, map: {} } }, cols)[0].scores[0];
    expect(agg([])).toBeCloseTo(0.05, 6); // smallest 2: 0, 0.1
    // Counts 1, 3, 5: means 0, 0.1, 0.2.
    expect(agg([0.1, 0.3, 0.5])).toBeCloseTo((0 + 0.1 + 0.2) / 3, 6);
  });

  it('blend, max and min of the mutual score and the nearest reference distance', () => {
    const m = () => Float32Array.from([0.2, 0.8]);
    const r = Float32Array.from([0.6, 0.4]);
    expect(Array.from(combineWithReferences(m(), r, 0.25, 'blend'))).toEqual([0.3, 0.7].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(combineWithReferences(m(), r, 0.25, 'max'))).toEqual([0.6, 0.8].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(combineWithReferences(m(), r, 0.25, 'min'))).toEqual([0.2, 0.4].map((v) => expect.closeTo(v, 6)));
  });
});

