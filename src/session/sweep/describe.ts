/**
 * What `iapas sweep --dry-run` prints: how many runs and jobs, which model passes the runs share
 * (the methods' model passes, src/methods/registry.ts, on the runs' effective configs), which varied keys act after the
 * models, and every run with its values.
 */
import { activePasses, keyUnder, MODEL_PASSES } from '../../methods/registry.js';
import { flattenConfig } from '../../util/flatten.js';
import { formatValue, type SweepPlan } from './expand.js';

export interface SharedPass {
  name: string;
  per: string;
  /** Distinct (model keys, input keys) values over the runs that make the pass. */
  count: number;
  /** Effective config keys of the pass that differ between those runs. */
  variedBy: string[];
}

export function sharedPasses(plan: SweepPlan): SharedPass[] {
  const out: SharedPass[] = [];
  for (const pass of MODEL_PASSES) {
    const runs = plan.runs.filter((r) => activePasses(r.config).some((p) => p.name === pass.name));
    if (runs.length === 0) continue;
    const prefixes = [...pass.keys, ...pass.inputKeys];
    const flats = runs.map((r) => flattenConfig(r.config));
    const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].filter((k) => keyUnder(k, prefixes)).sort();
    const projections = new Set(flats.map((f) => JSON.stringify(keys.map((k) => f[k] ?? null))));
    const variedBy = keys.filter((k) => new Set(flats.map((f) => JSON.stringify(f[k] ?? null))).size > 1);
    out.push({ name: pass.name, per: pass.per, count: projections.size, variedBy });
  }
  return out;
}

/** Varied effective keys that no model pass depends on: changing them re-runs no model. */
export function postModelKeys(plan: SweepPlan): string[] {
  const flats = plan.runs.map((r) => flattenConfig(r.config));
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].sort();
  const varied = keys.filter((k) => new Set(flats.map((f) => JSON.stringify(f[k] ?? null))).size > 1);
  const modelKeys = MODEL_PASSES.flatMap((p) => [...p.keys, ...p.inputKeys]);
  return varied.filter((k) => !keyUnder(k, modelKeys) && k !== 'preset');
}

/** One line on the levels merged as spellings of an earlier one, or undefined when none were. */
export function mergedNote(plan: SweepPlan): string | undefined {
  const m = plan.spec.merged;
  if (m.length === 0) return undefined;
  return `${m.length} duplicate value${m.length === 1 ? '' : 's'} merged (the same value once normalised): ${m.map((x) => `${x.factor} ${x.value} = ${x.into}`).join('; ')}`;
}

export function describePlan(plan: SweepPlan): string {
  const { runs, jobs, spec } = plan;
  const nd = spec.datasets.length;
  const factors = spec.factors.map((f) => `${f.name} (${f.levels.length})`).join(' x ') || 'no varied key';
  const lines = [`sweep ${spec.name}: ${runs.length} run${runs.length === 1 ? '' : 's'} x ${nd} dataset${nd === 1 ? '' : 's'} = ${jobs.length} job${jobs.length === 1 ? '' : 's'} (${factors})`];
  const merged = mergedNote(plan);
  if (merged) lines.push(merged);
  lines.push(`datasets: ${spec.datasets.map((d) => `${d.label} (${d.path}${d.categories ? `, categories ${d.categories.join(',')}` : ''}${d.limit ? `, limit ${d.limit}` : ''})`).join('; ')}`);
  const passes = sharedPasses(plan);
  const s = (p: SharedPass) => `${p.count} ${p.name} pass${p.count === 1 ? '' : 'es'} per ${p.per}${p.variedBy.length ? ` (varies with ${p.variedBy.join(', ')})` : ''}`;
  lines.push(`model passes, each output computed once and cached: ${runs.length} runs, ${passes.map(s).join(', ')}`);
  const post = postModelKeys(plan);
  if (post.length) lines.push(`varied after the models (no model re-run): ${post.join(', ')}`);
  const leaders = jobs.filter((j) => j.leader).length;
  lines.push(`${leaders} job${leaders === 1 ? " computes" : "s compute"} model outputs first (one per dataset and model signature); the other ${jobs.length - leaders} read them from the cache`);
  lines.push(`sweep directory: ${plan.dir}`);
  lines.push('runs:');
  for (const r of runs) {
    const text = Object.entries(r.assignment).map(([k, v]) => `${k}=${formatValue(v)}`).join('  ');
    lines.push(`  ${r.id}  ${text || '(base config)'}`);
  }
  return lines.join('\n');
}
