/**
 * The printed summary of a sweep: for the chosen metric, the best run per dataset and overall
 * (mean over datasets), and for each varied factor (a grid key, a zip group, the seeds) the
 * metric's range as that factor varies with every other factor held at the overall best run's
 * values: how much each choice matters around the best point.
 */
import type { MetricKey } from '../../evaluation/protocol.js';
import { formatValue, type SweepPlan, type SweepRun } from './expand.js';
import type { ResultRow } from '../../run-directory/sweep-results-file.js';

export interface BestPoint {
  run: string;
  value: number;
  assignment: Record<string, unknown>;
}

export interface FactorRange {
  factor: string;
  min: number;
  max: number;
  /** One entry per level of the factor around the best run (null: not finished, failed or undefined). */
  levels: Array<{ value: string; run: string; metric: number | null }>;
}

export interface SweepSummary {
  metric: MetricKey;
  perDataset: Array<{ dataset: string; best: BestPoint | null }>;
  overall: BestPoint | null;
  around: FactorRange[];
}

function best(plan: SweepPlan, rows: ResultRow[], dataset: string, metric: MetricKey): BestPoint | null {
  let top: BestPoint | null = null;
  for (const r of rows) {
    if (r.dataset !== dataset || r.category !== 'mean' || typeof r[metric] !== 'number') continue;
    const v = r[metric] as number;
    // Ties keep the earlier run.
    if (!top || v > top.value) top = { run: String(r.run), value: v, assignment: plan.runs.find((x) => x.id === r.run)!.assignment };
  }
  return top;
}

export function summarise(plan: SweepPlan, rows: ResultRow[], metric: MetricKey = plan.spec.metric): SweepSummary {
  const perDataset = plan.spec.datasets.map((d) => ({ dataset: d.label, best: best(plan, rows, d.label, metric) }));
  const overall = best(plan, rows, 'mean', metric);
  const around: FactorRange[] = [];
  if (overall) {
    const value = new Map(rows.filter((r) => r.dataset === 'mean').map((r) => [r.run, typeof r[metric] === 'number' ? (r[metric] as number) : null]));
    const at = plan.runs.find((r) => r.id === overall.run)!;
    for (const f of plan.spec.factors) {
      if (f.levels.length < 2) continue;
      const others = plan.variedKeys.filter((k) => !f.keys.includes(k));
      const same = (r: SweepRun) => others.every((k) => JSON.stringify(r.assignment[k]) === JSON.stringify(at.assignment[k]));
      const levels = plan.runs.filter(same).map((r) => ({
        value: f.keys.map((k) => formatValue(r.assignment[k])).join(' + '),
        run: r.id,
        metric: value.get(r.id) ?? null,
      }));
      const defined = levels.map((l) => l.metric).filter((v): v is number => v !== null);
      if (defined.length === 0) continue;
      around.push({ factor: f.name, min: Math.min(...defined), max: Math.max(...defined), levels });
    }
  }
  return { metric, perDataset, overall, around };
}

const pct = (v: number) => (100 * v).toFixed(1);

export function formatSummary(plan: SweepPlan, s: SweepSummary): string {
  const text = (b: BestPoint) => `${pct(b.value)} at ${b.run} (${Object.entries(b.assignment).map(([k, v]) => `${k}=${formatValue(v)}`).join(', ') || 'base config'})`;
  const lines = [`best ${s.metric} (%):`];
  for (const d of s.perDataset) lines.push(`  ${d.dataset}: ${d.best ? text(d.best) : 'no finished run'}`);
  if (plan.spec.datasets.length > 1 || !s.overall) lines.push(`  overall (mean over datasets): ${s.overall ? text(s.overall) : 'no run finished on every dataset'}`);
  if (s.around.length) {
    lines.push(`${s.metric} (%) as each key varies, the others at ${s.overall!.run}:`);
    for (const r of s.around) {
      const levels = r.levels.map((l) => `${l.value} ${l.metric === null ? '-' : pct(l.metric)}`).join(', ');
      lines.push(`  ${r.factor}: ${pct(r.min)} - ${pct(r.max)} (${levels})`);
    }
  }
  return lines.join('\n');
}
