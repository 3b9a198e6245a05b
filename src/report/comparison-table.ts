/**
 * Side-by-side metrics of several runs: one row per category (and the mean), one column per
 * (run, metric). Pure: takes the runs' metrics reports, returns rows; the command prints/writes.
 */
import type { EvaluationReport } from '../evaluation/metrics-files.js';
import type { MetricKey } from '../evaluation/protocol.js';

export interface RunMetricsInput {
  /** Column label, e.g. the preset or the run directory's name. */
  label: string;
  report: EvaluationReport;
}

export interface ComparisonRow {
  category: string;
  /** values[i][j]: run i, metric j; null where the run has no such category or the metric is undefined. */
  values: Array<Array<number | null>>;
}

export function compareMetrics(runs: RunMetricsInput[], metrics: MetricKey[]): ComparisonRow[] {
  const categories: string[] = [];
  for (const r of runs) for (const c of r.report.categories) if (!categories.includes(c.category)) categories.push(c.category);
  const rows: ComparisonRow[] = categories.map((category) => ({
    category,
    values: runs.map((r) => {
      const row = r.report.categories.find((c) => c.category === category);
      return metrics.map((m) => (row ? row[m] : null));
    }),
  }));
  // The mean is recomputed over the categories every run has, so that columns compare like with like.
  const shared = categories.filter((c) => runs.every((r) => r.report.categories.some((x) => x.category === c)));
  rows.push({
    category: shared.length === categories.length ? 'mean' : `mean (${shared.length} shared)`,
    values: runs.map((r) =>
      metrics.map((m) => {
        const vals = shared.map((c) => r.report.categories.find((x) => x.category === c)![m]).filter((v): v is number => v !== null);
        return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
      }),
    ),
  });
  return rows;
}

export function comparisonCsv(runs: RunMetricsInput[], metrics: MetricKey[], rows: ComparisonRow[]): string {
  const head = ['category', ...runs.flatMap((r) => metrics.map((m) => `${r.label}:${m}`))];
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [head.map(quote).join(',')];
  for (const row of rows) lines.push([quote(row.category), ...row.values.flat().map((v) => (v === null ? '' : v.toFixed(6)))].join(','));
  return lines.join('\n') + '\n';
}

export function formatComparison(runs: RunMetricsInput[], metrics: MetricKey[], rows: ComparisonRow[]): string {
  const cells: string[][] = [['category', ...runs.flatMap((r) => metrics.map((m) => `${r.label} ${m}`))]];
  for (const row of rows) cells.push([row.category, ...row.values.flat().map((v) => (v === null ? '-' : (100 * v).toFixed(1)))]);
  const widths = cells[0].map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  return cells.map((r) => r.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  ')).join('\n');
}
