/**
 * Chooses a value of one config knob leave-one-dataset-out on the shared sets: every candidate
 * value runs on every dataset (one `iapas run` each, one cache shared, so passes that the knob
 * does not change are computed once); then for each dataset the value with the best mean over
 * the *other* datasets is picked and its figure on the held-out one reported. The in-sample choice
 * (best mean over all datasets, the way a default was picked before) and each dataset's own best
 * are printed beside it, so a choice that only wins where it was chosen shows as a gap. A new
 * default is adopted on the held-out column only. Asserts nothing.
 *
 *   npx tsx eval/lodo-choose.ts --knob fewshot.threshold --values adaptive,otsu [--preset fewshot]
 *       [--metric pixel_f1_max] [--datasets mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy] [--limit 24]
 *       [--work /tmp/iapas-lodo] [--json out.json] [--set key=value ...]
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, runOnDataset } from '../src/api/index.js';
import { leaveOneDatasetOut } from '../src/evaluation/held-out.js';
import { METRIC_KEYS, type MetricKey } from '../src/evaluation/protocol.js';
import { SHARED, sharedModelsDir } from '../test/support/shared.js';
import { mean } from '../src/util/numeric.js';

const { values } = parseArgs({
  options: {
    knob: { type: 'string' },
    values: { type: 'string' },
    preset: { type: 'string', default: 'fewshot' },
    metric: { type: 'string', default: 'pixel_f1_max' },
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy' },
    limit: { type: 'string', default: '24' },
    work: { type: 'string', default: '/tmp/iapas-lodo' },
    json: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.knob || !values.values) throw new Error('--knob <config key> and --values <a,b,...> are required');
const metric = values.metric as MetricKey;
if (!METRIC_KEYS.includes(metric)) throw new Error(`--metric: one of ${METRIC_KEYS.join(', ')}`);
const candidates = values.values.split(',');
const datasets = values.datasets!.split(',');
const limit = values.limit === '0' ? undefined : Number(values.limit);

const modelsDir = await sharedModelsDir();
await mkdir(values.work!, { recursive: true });
// score[c][d]: candidate c on dataset d.
const score: number[][] = candidates.map(() => datasets.map(() => NaN));
try {
  for (const [c, value] of candidates.entries()) {
    for (const [d, ds] of datasets.entries()) {
      const config = await loadConfig({
        preset: values.preset,
        overrides: { models_dir: modelsDir, concurrency: 1, cache_dir: join(values.work!, 'cache') },
        set: [...values.set!, `${values.knob}=${value}`],
      });
      const res = await runOnDataset({ config, dataset: join(SHARED.datasets, ds), runDir: join(values.work!, 'runs', `${ds}-${c}`), limit, quiet: true });
      score[c][d] = res.metrics!.mean[metric] ?? NaN;
      process.stderr.write(`  ${values.knob}=${value} on ${ds}: ${metric} ${(100 * score[c][d]).toFixed(1)}\n`);
    }
  }
} finally {
  await rm(modelsDir, { recursive: true, force: true });
}
const { inSampleChoice, rows: lodo } = leaveOneDatasetOut(score);
const pct = (v: number) => (100 * v).toFixed(1);
console.log(`${values.preset}: ${values.knob} in {${candidates.join(', ')}}, ${metric} (%), at most ${limit ?? 'all'} test images per category`);
console.log(`| held-out dataset | chosen on the other ${datasets.length - 1} | held-out ${metric} | in-sample choice (${candidates[inSampleChoice]}) | this dataset's best |`);
console.log('|---|---|---|---|---|');
const rows = lodo.map((r) => {
  console.log(`| ${datasets[r.dataset]} | ${candidates[r.chosen]} | ${pct(r.heldOut)} | ${pct(r.inSample)} | ${pct(r.ownBestValue)} (${candidates[r.ownBest]}) |`);
  return { dataset: datasets[r.dataset], chosen: candidates[r.chosen], held_out: r.heldOut, in_sample: r.inSample, own_best: candidates[r.ownBest], own_best_value: r.ownBestValue };
});
console.log(`| mean | | ${pct(mean(rows.map((r) => r.held_out)))} | ${pct(mean(rows.map((r) => r.in_sample)))} | ${pct(mean(rows.map((r) => r.own_best_value)))} |`);
if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), options: values, candidates, datasets, score, rows }, null, 2));
