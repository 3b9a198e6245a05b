/**
 * Sweep results built from run directories (`iapas report --sweep`): one row per (run, category)
 * and one 'mean' row per run, the varied keys being the config keys that differ between the runs.
 * Pure; the same shape as a results.json (sweep-results.ts).
 */
import { METRIC_KEYS } from '../evaluation/protocol.js';
import { flattenConfig } from '../util/flatten.js';
import { differingKeys, NOT_RESULTS } from './provenance.js';
import type { ParamValue, SweepResults, SweepRow } from './sweep-results.js';
import type { LoadedRun } from './types.js';

function parseLeaf(json: string | undefined): ParamValue {
  if (json === undefined) return null;
  const v = JSON.parse(json) as unknown;
  return v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : JSON.stringify(v);
}

function pickMetrics(src: object): SweepRow['metrics'] {
  const s = src as Record<string, unknown>;
  return Object.fromEntries(METRIC_KEYS.map((m) => [m, typeof s[m] === 'number' ? s[m] : null]));
}

export function sweepFromRuns(runs: LoadedRun[]): SweepResults {
  const flats = runs.map((r) => (r.config ? flattenConfig(r.config, { json: true }) : null));
  const varied = differingKeys(flats).filter((k) => !NOT_RESULTS.has(k));
  const rows: SweepRow[] = [];
  runs.forEach((run, i) => {
    const params = Object.fromEntries(varied.map((k) => [k, parseLeaf(flats[i]?.[k])]));
    const base = { run: run.label, run_dir: run.dir, dataset: run.metrics.dataset.name, params, extra: {} };
    for (const c of run.metrics.categories) rows.push({ ...base, category: c.category, metrics: pickMetrics(c) });
    rows.push({ ...base, category: 'mean', metrics: pickMetrics(run.metrics.mean) });
  });
  return { varied, rows, source: 'run directories (--sweep)' };
}
