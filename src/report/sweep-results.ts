/**
 * A sweep's results as the report charts them: one row per (run, dataset, category), with the
 * varied config keys as parameters, the metrics by name, and the other columns as `extra`. Read
 * from the sweep's results.json (its schema is run-directory/sweep-results-file.ts's, the one
 * `iapas sweep` writes with), or derived from run directories (sweep-from-runs.ts).
 */
import { METRIC_KEYS, type MetricKey } from '../evaluation/protocol.js';
import { readSweepResultsFile, type SweepResultsFile } from '../run-directory/sweep-results-file.js';
import { UserError } from '../util/errors.js';

export type ParamValue = number | string | boolean | null;

export interface SweepRow {
  run: string;
  dataset: string;
  /** A category, or 'mean' for a run's mean over its categories. */
  category: string;
  params: Record<string, ParamValue>;
  metrics: Partial<Record<MetricKey, number | null>>;
  /** Other columns (wall time, model runs, cache hits, ...). */
  extra: Record<string, ParamValue>;
  run_dir?: string;
}

export interface SweepResults {
  varied: string[];
  rows: SweepRow[];
  /** Where it came from (a file, or 'run directories' for --sweep). */
  source: string;
}

const NAMING = new Set(['run', 'dataset', 'category', 'run_dir']);
const isMetric = (k: string): k is MetricKey => (METRIC_KEYS as readonly string[]).includes(k);

/** The chart rows of a results file; `source` names it in errors. */
export function sweepResultsOf(file: SweepResultsFile, source: string): SweepResults {
  const varied = new Set(file.varied);
  const rows: SweepRow[] = file.rows.map((r, k) => {
    const params: Record<string, ParamValue> = {};
    const metrics: SweepRow['metrics'] = {};
    const extra: Record<string, ParamValue> = {};
    for (const [key, v] of Object.entries(r)) {
      if (NAMING.has(key) || v === undefined) continue;
      if (varied.has(key)) params[key] = v;
      else if (isMetric(key)) {
        if (v !== null && typeof v !== 'number') throw new UserError(`${source}: row ${k + 1}, ${key}: expected a metric value (a number or null), got ${JSON.stringify(v)}`);
        metrics[key] = v;
      } else extra[key] = v;
    }
    return { run: r.run, dataset: r.dataset, category: r.category, params, metrics, extra, run_dir: typeof r.run_dir === 'string' ? r.run_dir : undefined };
  });
  return { varied: file.varied, rows, source };
}

export async function readSweepResults(path: string): Promise<SweepResults> {
  return sweepResultsOf(await readSweepResultsFile(path), path);
}
