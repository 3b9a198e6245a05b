/**
 * Which spec a sweep directory belongs to (its format is run-directory/sweep-manifest.ts's):
 * continuing it (`--resume`) with a spec that asks for something else is refused with the
 * differences.
 */
import type { Plain } from '../../config/load.js';
import { readManifest, writeManifest, type SweepManifest } from '../../run-directory/sweep-manifest.js';
import { UserError } from '../../util/errors.js';
import { hashJson } from '../../util/hash.js';
import type { SweepPlan } from './expand.js';
import { specIdentity } from './spec.js';

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
  await writeManifest(plan.dir, manifest);
  return manifest;
}
