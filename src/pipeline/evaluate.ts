/**
 * Evaluation of a finished run: the maps in the run directory against the ground truth, with
 * B's protocol (src/eval/protocol.ts, METHOD.md §5), written as metrics.json and metrics.csv.
 */
import { basename } from 'node:path';
import type { Config } from '../config/schema.js';
import { CategoryEvaluator, METRIC_KEYS, resolveProtocol, selectTestSamples, type CategoryMetrics } from '../eval/protocol.js';
import { loadMask } from '../image/io.js';
import { RunDir } from './run-dir.js';
import type { CategoryJob } from './runner.js';

export interface RunMetrics {
  protocol: { resolution: number; normal_images: string; category_normalisation: boolean };
  categories: CategoryMetrics[];
  /** Plain mean over categories of each metric (categories where it is null are left out). */
  mean: Record<string, number | null>;
}

export async function evaluateRun(runDir: string, jobs: CategoryJob[], config: Config, datasetRoot?: string): Promise<RunMetrics> {
  const dir = new RunDir(runDir);
  const protocol = resolveProtocol({ resolution: config.eval.resolution, normalImages: config.eval.normals });
  const categories: CategoryMetrics[] = [];
  let normalMode = protocol.normalImages as string;
  for (const job of jobs) {
    const sel = selectTestSamples(job.tests, job.category, protocol.normalImages, { root: datasetRoot ?? job.tests[0]?.imagePath ?? '', name: datasetRoot ? basename(datasetRoot) : undefined });
    normalMode = sel.normalImages;
    const ev = new CategoryEvaluator(job.category, sel.samples.length, protocol);
    for (const s of sel.samples) {
      const map = await dir.readMap(job.category, s.relId);
      const mask = s.maskPath ? await loadMask(s.maskPath) : null;
      ev.add(s.relId, s.label === 'anomalous', map, mask);
    }
    categories.push(ev.finish());
  }
  const mean: Record<string, number | null> = {};
  for (const k of METRIC_KEYS) {
    const vals = categories.map((c) => c[k]).filter((v): v is number => v !== null && Number.isFinite(v));
    mean[k] = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
  }
  const metrics: RunMetrics = {
    protocol: { resolution: protocol.resolution, normal_images: normalMode, category_normalisation: protocol.normalize },
    categories,
    mean,
  };
  await dir.writeJson('metrics.json', metrics);
  await dir.writeText('metrics.csv', metricsCsv(metrics));
  return metrics;
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '' : (v * 100).toFixed(2));

export function metricsCsv(m: RunMetrics): string {
  const head = ['category', 'n_images', ...METRIC_KEYS];
  const rows = m.categories.map((c) => [c.category, String(c.n_images), ...METRIC_KEYS.map((k) => pct(c[k]))]);
  rows.push(['mean', String(m.categories.reduce((a, c) => a + c.n_images, 0)), ...METRIC_KEYS.map((k) => pct(m.mean[k]))]);
  return [head, ...rows].map((r) => r.join(',')).join('\n') + '\n';
}

/** A fixed-width table of the metrics in percent. */
export function formatMetricsTable(m: RunMetrics): string {
  const short: Record<string, string> = {
    pixel_auroc: 'P-AUROC',
    pixel_ap: 'P-AP',
    pixel_f1_max: 'P-F1max',
    aupro: 'AUPRO',
    image_auroc: 'I-AUROC',
    image_ap: 'I-AP',
    image_f1_max: 'I-F1max',
  };
  const w = Math.max(8, ...m.categories.map((c) => c.category.length));
  const line = (name: string, n: string, vals: Array<number | null>) =>
    `${name.padEnd(w)} ${n.padStart(5)} ${vals.map((v) => (v === null ? '-' : (v * 100).toFixed(1)).padStart(8)).join('')}`;
  const out = [`${'category'.padEnd(w)} ${'n'.padStart(5)} ${METRIC_KEYS.map((k) => short[k].padStart(8)).join('')}`];
  for (const c of m.categories) out.push(line(c.category, String(c.n_images), METRIC_KEYS.map((k) => c[k])));
  out.push(line('mean', String(m.categories.reduce((a, c) => a + c.n_images, 0)), METRIC_KEYS.map((k) => m.mean[k])));
  out.push(`(resolution ${m.protocol.resolution}, normal test images: ${m.protocol.normal_images}, maps min-max normalised per category)`);
  return out.join('\n');
}
