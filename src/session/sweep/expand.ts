/**
 * From a spec to the runs of a sweep: the cartesian product of its factors, each point an
 * effective config validated by the config schema (an error names the key and the value), and
 * the jobs (run x dataset) in the order they are run.
 *
 * Order: dataset by dataset (decoded images and prepared masks stay in memory), and within a
 * dataset the runs that share every model output (same model signature, see
 * methods/model-passes.ts) next to each other. The first job of each (dataset, signature) group is
 * its leader: it computes the model outputs its followers then read from the cache (a queue
 * sweep runs the leaders first).
 */
import { join, resolve } from 'node:path';
import { deepMerge, type Plain } from '../../config/load.js';
import { resultConfigHash } from '../../pipeline/runner.js';
import { defaultCacheRoot } from '../../util/disk-cache.js';
import { UserError } from '../../util/errors.js';
import { flattenConfig } from '../../util/flatten.js';
import { hashJson } from '../../util/hash.js';
import type { SweepDataset, SweepSpec } from './spec.js';
import { activePasses, keyUnder, methodOf, presetInfo, validateConfig, type Config } from '../../methods/registry.js';

export interface SweepRun {
  /** r00, r01, ... in the order of the product (the last factor varies fastest). */
  id: string;
  /** Varied key -> value in this run, in factor order. */
  assignment: Record<string, unknown>;
  config: Config;
  /** Hash of the values of the config that change results (runner.resultConfigHash). */
  configHash: string;
  /** Hash of what decides the run's model outputs: runs with equal signatures share all of them. */
  signature: string;
}

export interface SweepJob {
  /** `<run id>/<dataset label>` */
  id: string;
  run: SweepRun;
  dataset: SweepDataset;
  /** Absolute run directory: <sweep dir>/runs/<run id>/<dataset label>. */
  runDir: string;
  /** First job of its (dataset, model signature) group. */
  leader: boolean;
}

export interface SweepPlan {
  spec: SweepSpec;
  /** Absolute sweep directory. */
  dir: string;
  runs: SweepRun[];
  /** In execution order. */
  jobs: SweepJob[];
  /** Every varied key, in factor order (zip groups give several). */
  variedKeys: string[];
}

export interface ExpandOptions {
  /** Sweep directory (default: the spec's `out`, else runs/sweep-<name> in the working directory). */
  out?: string;
  /** Values that change no result (concurrency, cache_dir, models_dir), layered over every run. */
  runOnly?: Plain;
  /** Most jobs (runs x datasets) a spec may expand to (default DEFAULT_MAX_JOBS). */
  maxJobs?: number;
}

/**
 * A grid is a product: a few short lists already make more runs than any machine finishes, and
 * expanding them would hold every effective config in memory before the first one runs.
 */
export const DEFAULT_MAX_JOBS = 10_000;

/** Runs and jobs a spec expands to, counted from the factors' lengths alone. */
export function countSweep(spec: SweepSpec): { runs: number; jobs: number } {
  const runs = spec.factors.reduce((n, f) => n * f.levels.length, 1);
  return { runs, jobs: runs * spec.datasets.length };
}

export function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function nest(flat: Record<string, unknown>): Plain {
  let out: Plain = {};
  for (const [key, value] of Object.entries(flat)) {
    const path = key.split('.');
    let obj: Plain = { [path[path.length - 1]]: value };
    for (let i = path.length - 2; i >= 0; i--) obj = { [path[i]]: obj };
    out = deepMerge(out, obj);
  }
  return out;
}

function runConfig(spec: SweepSpec, assignment: Record<string, unknown>, what: string, runOnly: Plain | undefined): Config {
  const flat: Record<string, unknown> = { ...spec.base.set, ...assignment };
  const preset = 'preset' in flat ? flat.preset : (spec.base.preset ?? spec.base.fileValues?.preset);
  delete flat.preset;
  if (preset === undefined) throw new UserError(`${what}: no preset; set base.preset (or preset: in base.config, or vary preset in grid)`);
  if (typeof preset !== 'string') throw new UserError(`${what}: preset = ${formatValue(preset)} is not a preset name`);
  let info;
  try {
    info = presetInfo(preset);
  } catch (err) {
    throw new UserError(`${what}: ${(err as Error).message}`);
  }
  const merged = deepMerge({ preset: info.name }, info.defaults, spec.base.fileValues, nest(flat), runOnly, { preset: info.name });
  const config = validateConfig(merged, what);
  // Workers may start elsewhere: every path a run uses is made absolute here.
  config.models_dir = resolve(config.models_dir);
  config.cache_dir = resolve(config.cache_dir ?? defaultCacheRoot());
  return config;
}

/** Hash of the values that decide a run's model outputs (every active pass's keys and inputs). */
export function modelSignature(config: Config): string {
  const method = methodOf(config);
  const prefixes = activePasses(config).flatMap((p) => [...p.keys, ...p.inputKeys]);
  const flat = flattenConfig(config);
  const picked = Object.keys(flat)
    .filter((k) => keyUnder(k, prefixes))
    .sort()
    .map((k) => [k, flat[k]]);
  return hashJson({ method, picked });
}

function product(levels: unknown[][][]): unknown[][][] {
  let out: unknown[][][] = [[]];
  for (const f of levels) out = out.flatMap((prefix) => f.map((level) => [...prefix, level]));
  return out;
}

export function defaultSweepDir(spec: SweepSpec): string {
  return spec.out ?? resolve('runs', `sweep-${spec.name}`);
}

export function expandSweep(spec: SweepSpec, opts: ExpandOptions = {}): SweepPlan {
  const where = `sweep spec ${spec.file}`;
  const dir = opts.out ? resolve(opts.out) : defaultSweepDir(spec);
  const max = opts.maxJobs ?? DEFAULT_MAX_JOBS;
  const count = countSweep(spec);
  if (count.jobs > max) {
    const sizes = spec.factors.map((f) => `${f.name} (${f.levels.length})`).join(' x ');
    throw new UserError(
      `${where}: ${count.runs} runs x ${spec.datasets.length} dataset${spec.datasets.length === 1 ? '' : 's'} = ${count.jobs} jobs (${sizes}), more than --max-jobs ${max}; vary fewer values, or raise --max-jobs`,
    );
  }
  // Each value first on its own (the other factors at their first values), so that an error names
  // exactly the key and value at fault.
  const first: Record<string, unknown> = {};
  for (const f of spec.factors) f.keys.forEach((k, i) => (first[k] = f.levels[0][i]));
  for (const f of spec.factors) {
    for (const level of f.levels) {
      const assignment = { ...first, ...Object.fromEntries(f.keys.map((k, i) => [k, level[i]])) };
      const text = f.keys.map((k, i) => `${k} = ${formatValue(level[i])}`).join(', ');
      runConfig(spec, assignment, `${where}, ${f.origin} ${text}`, opts.runOnly);
    }
  }
  const points = product(spec.factors.map((f) => f.levels));
  const width = Math.max(2, String(points.length - 1).length);
  const byHash = new Map<string, SweepRun>();
  const runs: SweepRun[] = points.map((point, i) => {
    const assignment: Record<string, unknown> = {};
    spec.factors.forEach((f, j) => f.keys.forEach((k, n) => (assignment[k] = point[j][n])));
    const id = `r${String(i).padStart(width, '0')}`;
    const text = Object.entries(assignment).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ');
    const config = runConfig(spec, assignment, `${where}, run ${id} (${text || 'base'})`, opts.runOnly);
    const run: SweepRun = { id, assignment, config, configHash: resultConfigHash(config), signature: modelSignature(config) };
    const twin = byHash.get(run.configHash);
    if (twin) throw new UserError(`${where}: runs ${twin.id} and ${id} have the same effective config (${text}); remove one of the values`);
    byHash.set(run.configHash, run);
    return run;
  });

  const groups = new Map<string, SweepRun[]>();
  for (const r of runs) groups.set(r.signature, [...(groups.get(r.signature) ?? []), r]);
  const jobs: SweepJob[] = [];
  for (const dataset of spec.datasets) {
    for (const group of groups.values()) {
      group.forEach((run, i) => jobs.push({ id: `${run.id}/${dataset.label}`, run, dataset, runDir: join(dir, 'runs', run.id, dataset.label), leader: i === 0 }));
    }
  }
  return { spec, dir, runs, jobs, variedKeys: spec.factors.flatMap((f) => f.keys) };
}
