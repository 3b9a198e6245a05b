/** A sweep's results.json as `iapas sweep` writes it, around hand-made rows (report tests). */
import { METRIC_KEYS } from '../../src/evaluation/protocol.js';
import type { ResultRow, SweepResultsFile } from '../../src/run-directory/sweep-results-file.js';

export function sweepResultsJson(rows: Array<ResultRow & { run: string; dataset: string; category: string }>, varied: string[], name = 'test-sweep'): SweepResultsFile {
  const runs = [...new Set(rows.map((r) => r.run))];
  return {
    tool: 'iapas sweep',
    sweep: name,
    metric: 'pixel_f1_max',
    varied,
    metrics: [...METRIC_KEYS],
    columns: [...new Set(rows.flatMap((r) => Object.keys(r)))],
    runs: runs.map((id) => ({ id, assignment: Object.fromEntries(varied.map((k) => [k, rows.find((r) => r.run === id)![k]])), run_dirs: {} })),
    rows,
  };
}
