import { describe, expect, it } from 'vitest';
import { leaveOneDatasetOut } from '../../src/evaluation/held-out.js';

describe('leaveOneDatasetOut', () => {
  it('a candidate that wins only on one dataset is chosen in-sample but never for that dataset held out', () => {
    // Candidate 1 is far better on dataset 0 and slightly worse everywhere else.
    const score = [
      [0.5, 0.6, 0.6, 0.6],
      [0.9, 0.58, 0.58, 0.58],
    ];
    const r = leaveOneDatasetOut(score);
    expect(r.inSampleChoice).toBe(1);
    expect(r.rows[0]).toMatchObject({ chosen: 0, heldOut: 0.5, inSample: 0.9, ownBest: 1, ownBestValue: 0.9 });
    for (const d of [1, 2, 3]) expect(r.rows[d]).toMatchObject({ chosen: 1, heldOut: 0.58, inSample: 0.58, ownBest: 0 });
  });

  it('ties go to the earlier candidate; bad shapes are refused', () => {
    expect(leaveOneDatasetOut([[0.3, 0.3], [0.3, 0.3]]).rows.map((r) => r.chosen)).toEqual([0, 0]);
    expect(() => leaveOneDatasetOut([[0.3]])).toThrow(/two datasets/);
    expect(() => leaveOneDatasetOut([[0.3, 0.2], [0.1]])).toThrow(/every dataset/);
  });
});
