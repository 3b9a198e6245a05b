import { describe, expect, it } from 'vitest';
import { compareMetrics, comparisonCsv, formatComparison, type RunMetricsInput } from '../../src/report/comparison-table.js';
import { commonImages } from '../../src/report/comparison-figures.js';
import type { EvaluationReport } from '../../src/evaluation/metrics-files.js';
import type { ImageRecord } from '../../src/run-directory/records.js';

const report = (rows: Array<[string, number | null, number | null]>): EvaluationReport =>
  ({ categories: rows.map(([category, pixel_ap, pixel_f1_max]) => ({ category, pixel_ap, pixel_f1_max })) }) as unknown as EvaluationReport;

describe('compareMetrics', () => {
  const runs: RunMetricsInput[] = [
    { label: 'a', report: report([['bottle', 0.5, 0.4], ['screw', 0.1, null]]) },
    { label: 'b', report: report([['bottle', 0.7, 0.6]]) },
  ];
  const rows = compareMetrics(runs, ['pixel_ap', 'pixel_f1_max']);

  it('lines up categories across runs, with null where a run lacks one', () => {
    expect(rows.map((r) => r.category)).toEqual(['bottle', 'screw', 'mean (1 shared)']);
    expect(rows[0].values).toEqual([[0.5, 0.4], [0.7, 0.6]]);
    expect(rows[1].values).toEqual([[0.1, null], [null, null]]);
  });

  it('averages only over the categories every run has', () => {
    expect(rows[2].values).toEqual([[0.5, 0.4], [0.7, 0.6]]);
    const full = compareMetrics([runs[0]], ['pixel_ap']);
    expect(full[2]).toEqual({ category: 'mean', values: [[(0.5 + 0.1) / 2]] });
  });

  it('writes CSV columns per (run, metric) and a percent table', () => {
    const csv = comparisonCsv(runs, ['pixel_ap', 'pixel_f1_max'], rows).split('\n');
    expect(csv[0]).toBe('category,a:pixel_ap,a:pixel_f1_max,b:pixel_ap,b:pixel_f1_max');
    expect(csv[2]).toBe('screw,0.100000,,,');
    expect(formatComparison(runs, ['pixel_ap', 'pixel_f1_max'], rows)).toMatch(/bottle\s+50\.0\s+40\.0\s+70\.0\s+60\.0/);
  });
});

describe('commonImages', () => {
  const rec = (category: string, relId: string, label: string) => ({ category, relId, label }) as ImageRecord;
  it('keeps the images every run has, in the first run\'s order', () => {
    const a = [rec('c', 'test/good/0', 'normal'), rec('c', 'test/x/1', 'anomalous'), rec('c', 'test/x/2', 'anomalous'), rec('d', 'test/y/0', 'anomalous')];
    const b = [rec('c', 'test/good/0', 'normal'), rec('c', 'test/x/2', 'anomalous'), rec('d', 'test/y/0', 'anomalous')];
    expect(commonImages([a, b]).map((r) => `${r.category}/${r.relId}`)).toEqual(['c/test/good/0', 'c/test/x/2', 'd/test/y/0']);
    expect(commonImages([])).toEqual([]);
  });
});
