import { describe, expect, it } from 'vitest';
import { knobRows, leaveOneDatasetOut, oneKnobAtATime } from '../../src/evaluation/held-out.js';

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

describe('oneKnobAtATime', () => {
  const knobs = [
    { key: 'a', values: ['1', '2', '3'] },
    { key: 'b', values: ['x', 'y'] },
  ];

  it('gives the defaults first, then every other value of each knob with the rest at their defaults', () => {
    const grid = oneKnobAtATime(knobs);
    expect(grid.map((c) => c.set)).toEqual([
      ['a=1', 'b=x'],
      ['a=2', 'b=x'],
      ['a=3', 'b=x'],
      ['a=1', 'b=y'],
    ]);
    expect(grid.map((c) => c.knob)).toEqual([-1, 0, 0, 1]);
    expect(knobRows(grid, 0)).toEqual([0, 1, 2]);
    expect(knobRows(grid, 1)).toEqual([0, 3]);
    expect(() => oneKnobAtATime([{ key: 'a', values: [] }])).toThrow(/default/);
  });

  it('held out over the grid, a move wins a dataset only where it wins on the others', () => {
    const grid = oneKnobAtATime(knobs);
    // b=y is better on datasets 1..3, a=3 only on dataset 0: held out, dataset 0 gets b=y
    // (chosen on 1..3) and datasets 1..3 get b=y too, never a=3.
    const score = [
      [0.5, 0.5, 0.5, 0.5],
      [0.5, 0.4, 0.4, 0.4],
      [0.6, 0.45, 0.45, 0.45],
      [0.45, 0.6, 0.6, 0.6],
    ];
    const { rows } = leaveOneDatasetOut(score);
    expect(rows.map((r) => grid[r.chosen].label)).toEqual(['b=y', 'b=y', 'b=y', 'b=y']);
    expect(rows[0]).toMatchObject({ heldOut: 0.45, ownBest: 2, ownBestValue: 0.6 });
    // Knob a alone (its rows only): a=3 only ties the defaults on any three datasets with
    // dataset 0 among them and loses without it, so every dataset keeps the defaults.
    const rowsA = knobRows(grid, 0);
    const a = leaveOneDatasetOut(rowsA.map((i) => score[i]));
    expect(a.rows.map((r) => grid[rowsA[r.chosen]].label)).toEqual(['defaults', 'defaults', 'defaults', 'defaults']);
  });
});
