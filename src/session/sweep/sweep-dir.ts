/**
 * The sweep directory, on a path every worker sees:
 *
 *   sweep.json                      what was asked (spec identity), the runs and their configs' hashes
 *   runs/<run>/<dataset>/           one `iapas run` directory per job (+ sweep-result.json)
 *   results.csv, results.json       one row per (run, dataset, category) plus mean rows (results.ts)
 *   summary.txt                     best points and each key's range around the best (summary.ts)
 *   sweep.lock                      held by the one `iapas sweep` working on the directory
 *
 * A sweep directory belongs to one spec: continuing it (`--resume`) with a spec that asks for
 * something else is refused with the differences. One sweep at a time works on a directory (its
 * lock is run-lock.ts's, under another name): two would each rewrite the tables with what they
 * saw last.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plain } from '../../config/load.js';
import { acquireRunLock, type RunLock } from '../../run-directory/lock.js';
import { UserError } from '../../util/errors.js';
import { writeJsonAtomic } from '../../util/fs-atomic.js';
import { hashJson } from '../../util/hash.js';
import type { SweepPlan } from './expand.js';
import { specIdentity } from './spec.js';

export interface SweepManifest {
  tool: 'iapas sweep';
  name: string;
  spec_file: string;
  /** specIdentity(spec): what the sweep asks for. */
  identity: Plain;
  /** Names the sweep in queue job ids: hash of the directory and the identity. */
  key: string;
  runs: Array<{ id: string; assignment: Record<string, unknown>; config_hash: string }>;
  jobs: Array<{ id: string; run_dir: string; leader: boolean }>;
}

export const SWEEP_LOCK = 'sweep.lock';

/**
 * Takes the sweep directory's lock (creating the directory), or throws naming its holder: pid,
 * host and start time. A lock whose process is gone from this host is taken over.
 */
export function acquireSweepLock(dir: string, command = 'iapas sweep'): Promise<RunLock> {
  return acquireRunLock(dir, { file: SWEEP_LOCK, command, dirFlag: '--out', what: 'sweep directory' });
}

export function sweepKey(plan: SweepPlan): string {
  return hashJson({ dir: plan.dir, identity: specIdentity(plan.spec) }).slice(0, 12);
}

export function manifestOf(plan: SweepPlan): SweepManifest {
  return {
    tool: 'iapas sweep',
    name: plan.spec.name,
    spec_file: plan.spec.file,
    identity: specIdentity(plan.spec),
    key: sweepKey(plan),
    runs: plan.runs.map((r) => ({ id: r.id, assignment: r.assignment, config_hash: r.configHash })),
    jobs: plan.jobs.map((j) => ({ id: j.id, run_dir: j.runDir, leader: j.leader })),
  };
}

export async function readManifest(dir: string): Promise<SweepManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'sweep.json'), 'utf8')) as SweepManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`${join(dir, 'sweep.json')} is unreadable (${(err as Error).message}); is this a sweep directory?`);
  }
}

const show = (v: unknown) => (v === undefined ? '(none)' : JSON.stringify(v));

/** Differences between two identities, one `path: old -> new` per changed leaf (objects are descended). */
export function identityDiff(before: unknown, after: unknown, path: string[] = []): string[] {
  const isObj = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => identityDiff(before[k], after[k], [...path, k]));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const where = path.join(' / ') || '(spec)';
  if (before === undefined) return [`${where}: added ${show(after)}`];
  if (after === undefined) return [`${where}: removed (was ${show(before)})`];
  return [`${where}: ${show(before)} -> ${show(after)}`];
}

/**
 * Makes `plan.dir` this plan's sweep directory: new, or (with resume) one written by the same
 * spec whose runs still have the same effective configs.
 */
export async function prepareSweepDir(plan: SweepPlan, resume: boolean): Promise<SweepManifest> {
  const manifest = manifestOf(plan);
  const existing = await readManifest(plan.dir);
  if (existing) {
    if (!resume) throw new UserError(`${plan.dir} already holds sweep '${existing.name}'; pass --resume to continue it, or choose another --out`);
    const diff = identityDiff(existing.identity, manifest.identity);
    if (diff.length) throw new UserError(`cannot resume ${plan.dir}: the spec changed: ${diff.join('; ')}. Restore it, or sweep into another --out`);
    const before = new Map(existing.runs.map((r) => [r.id, r.config_hash]));
    const changed = manifest.runs.filter((r) => before.get(r.id) !== r.config_hash).map((r) => r.id);
    if (changed.length) {
      throw new UserError(
        `cannot resume ${plan.dir}: the effective config of ${changed.join(', ')} changed with the same spec (edited base config file, or presets' defaults changed); sweep into another --out`,
      );
    }
  }
  await writeJsonAtomic(join(plan.dir, 'sweep.json'), manifest);
  return manifest;
}
