/**
 * A sweep's results as one tidy table, `results.csv` and `results.json` (the same rows):
 *
 *   run, <every varied key>, dataset, category, n_images, <every metric>, wall_s, model_runs, cache_hits, error, run_dir
 *
 * One row per (run, dataset, category); per (run, dataset) a row with category `mean` (the
 * dataset's figure: plain mean over its categories); per run a row with dataset and category
 * `mean` (mean of the dataset figures where defined; empty unless every dataset of the run succeeded).
 * Metrics are in [0, 1], empty where undefined. wall_s, model_runs (model executions, cache hits
 * not counted) and cache_hits belong to a job, so they are on its dataset `mean` row (the run's
 * `mean` row sums them) and empty on category rows; they describe the call that finished the job
 * and differ from one execution to the next, unlike every other column. `error` says why a job
 * failed (its metrics are then empty). `run_dir` is the job's run directory relative to the sweep
 * directory (empty on the run's `mean` row). results.json's shape is run-directory/sweep-results-file.ts's;
 * `iapas report <sweep dir>` reads it.
 */
import { join, relative } from 'node:path';
import { METRIC_KEYS, type MetricKey } from '../../evaluation/protocol.js';
import { readJobResult, type JobResult } from '../../run-directory/sweep-result.js';
import { RESULTS_FILE, writeSweepResultsFile, type ResultRow, type SweepResultsFile } from '../../run-directory/sweep-results-file.js';
import { writeFileAtomic } from '../../util/fs-atomic.js';
import { formatValue, type SweepPlan } from './expand.js';
import { meanDefined } from '../../util/numeric.js';


/** Columns whose values measure an execution rather than the results. */
export const MEASURE_COLUMNS = ['wall_s', 'model_runs', 'cache_hits'] as const;

export function resultColumns(plan: SweepPlan): string[] {
  return ['run', ...plan.variedKeys, 'dataset', 'category', 'n_images', ...METRIC_KEYS, ...MEASURE_COLUMNS, 'error', 'run_dir'];
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

export interface CollectedResults {
  rows: ResultRow[];
  /** Jobs without a result file yet. */
  pending: string[];
  failed: Array<{ job: string; error: string }>;
}

/** Reads every job's result file (written in its run directory) into the table rows. */
export async function collectResults(plan: SweepPlan): Promise<CollectedResults> {
  const results = new Map<string, JobResult>();
  const pending: string[] = [];
  for (const job of plan.jobs) {
    const r = await readJobResult(job.runDir);
    if (r) results.set(job.id, r);
    else pending.push(job.id);
  }
  const rows: ResultRow[] = [];
  const failed: CollectedResults['failed'] = [];
  for (const run of plan.runs) {
    const varied: ResultRow = {};
    for (const k of plan.variedKeys) {
      const v = run.assignment[k];
      varied[k] = v === null || ['string', 'number', 'boolean'].includes(typeof v) ? (v as string | number | boolean | null) : formatValue(v);
    }
    const base = (dataset: string, category: string): ResultRow => ({ run: run.id, ...varied, dataset, category });
    const dsMeans: Array<Record<MetricKey, number | null> | null> = [];
    let nImages = 0;
    let wall = 0;
    let modelRuns = 0;
    let hits = 0;
    let missing = 0;
    const errors: string[] = [];
    for (const dataset of plan.spec.datasets) {
      const job = plan.jobs.find((j) => j.run === run && j.dataset === dataset)!;
      const runDir = relative(plan.dir, job.runDir);
      const r = results.get(job.id);
      if (!r) {
        missing++;
        dsMeans.push(null);
        continue;
      }
      if (r.status === 'done' && r.categories && r.mean) {
        for (const c of r.categories) {
          const row: ResultRow = { ...base(dataset.label, c.category), n_images: c.n_images };
          for (const k of METRIC_KEYS) row[k] = c[k];
          rows.push({ ...row, wall_s: null, model_runs: null, cache_hits: null, error: null, run_dir: runDir });
        }
      }
      const row: ResultRow = { ...base(dataset.label, 'mean'), n_images: r.mean?.n_images ?? null };
      for (const k of METRIC_KEYS) row[k] = r.mean?.[k] ?? null;
      const runs = sum(r.model_runs);
      const h = Object.values(r.cache).reduce((a, c) => a + c.hits, 0);
      rows.push({ ...row, wall_s: r.wall_s, model_runs: runs, cache_hits: h, error: r.status === 'failed' ? (r.error ?? 'failed') : null, run_dir: runDir });
      if (r.status === 'failed') {
        errors.push(`${dataset.label}: ${r.error ?? 'failed'}`);
        failed.push({ job: r.job, error: r.error ?? 'failed' });
        dsMeans.push(null);
      } else dsMeans.push(r.mean ?? null);
      nImages += r.mean?.n_images ?? 0;
      wall += r.wall_s;
      modelRuns += runs;
      hits += h;
    }
    const overall: ResultRow = { ...base('mean', 'mean'), n_images: nImages };
    const complete = dsMeans.every((m) => m !== null);
    for (const k of METRIC_KEYS) overall[k] = complete ? meanDefined(dsMeans.map((m) => m![k])) : null;
    const why = [...errors, ...(missing ? [`${missing} dataset(s) not finished`] : [])];
    rows.push({ ...overall, wall_s: +wall.toFixed(2), model_runs: modelRuns, cache_hits: hits, error: why.length ? why.join(' | ') : null, run_dir: null });
  }
  return { rows, pending, failed };
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function resultsCsv(columns: string[], rows: ResultRow[]): string {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

export type ResultsExtra = Pick<Partial<SweepResultsFile>, 'metric' | 'summary' | 'pending'>;

export async function writeResults(plan: SweepPlan, rows: ResultRow[], extra: ResultsExtra = {}): Promise<{ csv: string; json: string }> {
  const columns = resultColumns(plan);
  const csv = join(plan.dir, 'results.csv');
  const json = join(plan.dir, RESULTS_FILE);
  await writeFileAtomic(csv, resultsCsv(columns, rows));
  await writeSweepResultsFile(json, {
    tool: 'iapas sweep',
    sweep: plan.spec.name,
    metric: plan.spec.metric,
    varied: plan.variedKeys,
    metrics: [...METRIC_KEYS],
    columns,
    runs: plan.runs.map((r) => ({ id: r.id, assignment: r.assignment, run_dirs: Object.fromEntries(plan.jobs.filter((j) => j.run === r).map((j) => [j.dataset.label, j.runDir])) })),
    rows: rows as SweepResultsFile['rows'],
    ...extra,
  });
  return { csv, json };
}
