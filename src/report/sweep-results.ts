/**
 * A sweep's `results.json`, as `iapas report` reads it. This module alone knows the file's shape;
 * if `iapas sweep` writes other field names, adapt `parseSweepResults` and nothing else.
 *
 * Expected (flat rows, so that any tool reading JSON can chart them): one row per (run, dataset, category) plus one `mean` row per
 * (run, dataset), each row flat:
 *
 *   [ { "run_id": "k2-thr0.3",                      // or "run" / "id"
 *       "dataset": "mvtec_ad", "category": "grid",   // "mean" (or "mean ...") for the mean rows
 *       "references.k": 2, "fewshot.threshold": "fixed:0.3",   // every varied key, dotted
 *       "pixel_ap": 0.41, "pixel_f1_max": 0.44, "pixel_auroc": 0.93, "aupro": 0.81,
 *       "image_auroc": 0.9, "image_ap": 0.95, "image_f1_max": 0.9,
 *       "wall_s": 123.4, "model_runs": 52, "cache_hits": 10,  // anything else: kept as `extra`
 *       "run_dir": "runs/k2-thr0.3" },               // optional, relative to the file's folder
 *     ... ]
 *
 * either as a bare array or as `{ "rows": [...], "varied": ["references.k", ...] }` (`varied`
 * optional). A flat column is a parameter when `varied` lists it or when its first dotted segment
 * is a top-level config key (so `references.k`, `seed`, but not `wall_s`); metric columns are the
 * evaluation's metric names. Also accepted: nested rows `{ run, dataset, category, params: {...},
 * metrics: {...} }` (the report prototype's shape). Without `varied`, the varied keys are the
 * parameters that take more than one value.
 */
import { readFile } from 'node:fs/promises';
import { configSchema } from '../methods/registry.js';
import { METRIC_KEYS, type MetricKey } from '../evaluation/protocol.js';
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

const RUN_ID = ['run_id', 'run', 'id'];
const FIXED = new Set([...RUN_ID, 'run_dir', 'dataset', 'category', 'params', 'metrics']);
const CONFIG_KEYS = new Set(Object.keys(configSchema.shape));
const isMetric = (k: string): k is MetricKey => (METRIC_KEYS as readonly string[]).includes(k);

function leaf(v: unknown, where: string): ParamValue {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return JSON.stringify(v);
  throw new UserError(`${where}: expected a number, string or boolean, got ${JSON.stringify(v)}`);
}

function metricValue(v: unknown, where: string): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new UserError(`${where}: expected a metric value (a number or null), got ${JSON.stringify(v)}`);
  return n;
}

/** Parses the JSON of a results file; `source` names it in errors. */
export function parseSweepResults(json: unknown, source: string): SweepResults {
  const obj = (Array.isArray(json) ? { rows: json } : json) as { rows?: unknown; varied?: unknown } | null;
  if (!obj || typeof obj !== 'object' || !Array.isArray(obj.rows)) {
    throw new UserError(`${source}: not sweep results (expected an array of rows, or { "rows": [...] })`);
  }
  const listed = Array.isArray(obj.varied) ? obj.varied.map(String) : null;
  const listedSet = new Set(listed ?? []);
  const rows: SweepRow[] = obj.rows.map((raw, k) => {
    const where = `${source}: row ${k + 1}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${where}: expected an object`);
    const r = raw as Record<string, unknown>;
    const params: Record<string, ParamValue> = {};
    const metrics: SweepRow['metrics'] = {};
    const extra: Record<string, ParamValue> = {};
    if (r.params && typeof r.params === 'object') for (const [key, v] of Object.entries(r.params)) params[key] = leaf(v, `${where}, params.${key}`);
    if (r.metrics && typeof r.metrics === 'object') {
      for (const [key, v] of Object.entries(r.metrics)) if (isMetric(key)) metrics[key] = metricValue(v, `${where}, metrics.${key}`);
    }
    for (const [key, v] of Object.entries(r)) {
      if (FIXED.has(key)) continue;
      if (isMetric(key)) metrics[key] = metricValue(v, `${where}, ${key}`);
      else if (listedSet.has(key) || CONFIG_KEYS.has(key.split('.')[0])) params[key] = leaf(v, `${where}, ${key}`);
      else if (v === null || ['number', 'string', 'boolean'].includes(typeof v)) extra[key] = v as ParamValue;
    }
    const id = RUN_ID.map((key) => r[key]).find((v) => v !== undefined && v !== null);
    const category = r.category === undefined || r.category === null ? 'mean' : String(r.category);
    return {
      run: id === undefined ? `row ${k + 1}` : String(id),
      dataset: r.dataset === undefined || r.dataset === null ? 'dataset' : String(r.dataset),
      category: /^mean\b/.test(category) ? 'mean' : category,
      params,
      metrics,
      extra,
      run_dir: typeof r.run_dir === 'string' ? r.run_dir : undefined,
    };
  });
  if (!rows.some((r) => Object.keys(r.metrics).length > 0)) throw new UserError(`${source}: no row has a metric (${METRIC_KEYS.join(', ')})`);
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.params)))];
  const varied = listed
    ? listed.filter((k) => keys.includes(k))
    : keys.filter((k) => new Set(rows.map((r) => JSON.stringify(r.params[k] ?? null))).size > 1);
  return { varied, rows, source };
}

export async function readSweepResults(path: string): Promise<SweepResults> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseSweepResults(json, path);
}
