/**
 * Chooses a value of one config knob leave-one-dataset-out on the shared sets: every candidate
 * value runs on every dataset (one `iapas run` each, one cache shared, so passes that the knob
 * does not change are computed once); then for each dataset the value with the best mean over
 * the *other* datasets is picked and its figure on the held-out one reported. The in-sample choice
 * (best mean over all datasets, the way a default was picked before) and each dataset's own best
 * are printed beside it, so a choice that only wins where it was chosen shows as a gap. A new
 * default is adopted on the held-out column only. Asserts nothing.
 *
 * Several `--knob`/`--values` pairs (each knob's default first) make a one-knob-at-a-time grid
 * around the defaults (`oneKnobAtATime`): the choice is then made over every config of the grid,
 * and once more per knob over its own values, all from the same runs.
 *
 *   npx tsx eval/lodo-choose.ts --knob fewshot.threshold --values adaptive,otsu [--preset fewshot]
 *       [--metric pixel_f1_max] [--datasets mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy] [--limit 24]
 *       [--work /tmp/iapas-lodo] [--json out.json] [--set key=value ...]
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, runOnDataset } from '../src/api/index.js';
import { knobRows, leaveOneDatasetOut, oneKnobAtATime } from '../src/evaluation/held-out.js';
import { METRIC_KEYS, type MetricKey } from '../src/evaluation/protocol.js';
import { SHARED, sharedModelsDir } from '../test/support/shared.js';
import { mean } from '../src/util/numeric.js';

const { values } = parseArgs({
  options: {
    knob: { type: 'string', multiple: true, default: [] },
    values: { type: 'string', multiple: true, default: [] },
    preset: { type: 'string', default: 'fewshot' },
    metric: { type: 'string', default: 'pixel_f1_max' },
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy' },
    limit: { type: 'string', default: '24' },
    work: { type: 'string', default: '/tmp/iapas-lodo' },
    json: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
if (values.knob!.length === 0 || values.knob!.length !== values.values!.length) throw new Error('--knob <config key> --values <a,b,...>, once or more, in pairs');
const metric = values.metric as MetricKey;
if (!METRIC_KEYS.includes(metric)) throw new Error(`--metric: one of ${METRIC_KEYS.join(', ')}`);
const knobs = values.knob!.map((key, i) => ({ key, values: values.values![i].split(',') }));
// One knob: its values are the candidates, labelled by value as before.
const grid = knobs.length === 1
  ? knobs[0].values.map((v, i) => ({ knob: i === 0 ? -1 : 0, set: [`${knobs[0].key}=${v}`], label: v }))
  : oneKnobAtATime(knobs);
const candidates = grid.map((g) => g.label);
const datasets = values.datasets!.split(',');
const limit = values.limit === '0' ? undefined : Number(values.limit);

const modelsDir = await sharedModelsDir();
await mkdir(values.work!, { recursive: true });
// score[c][d]: candidate c on dataset d; every metric kept for the JSON.
const score: number[][] = candidates.map(() => datasets.map(() => NaN));
const allMetrics: unknown[][] = candidates.map(() => datasets.map(() => ({})));
try {
  for (const [c, cand] of grid.entries()) {
    for (const [d, ds] of datasets.entries()) {
      const config = await loadConfig({
        preset: values.preset,
        overrides: { models_dir: modelsDir, concurrency: 1, cache_dir: join(values.work!, 'cache') },
        set: [...values.set!, ...cand.set],
      });
      const res = await runOnDataset({ config, dataset: join(SHARED.datasets, ds), runDir: join(values.work!, 'runs', `${ds}-${c}`), limit, quiet: true });
      score[c][d] = res.metrics!.mean[metric] ?? NaN;
      allMetrics[c][d] = res.metrics!.mean;
      process.stderr.write(`  ${cand.set.join(' ')} on ${ds}: ${metric} ${(100 * score[c][d]).toFixed(1)}\n`);
      if (values.json) await writeFile(values.json + '.partial', JSON.stringify({ candidates, datasets, score, allMetrics }));
    }
  }
} finally {
  await rm(modelsDir, { recursive: true, force: true });
}
const pct = (v: number) => (100 * v).toFixed(1);
const what = knobs.length === 1 ? `${knobs[0].key} in {${candidates.join(', ')}}` : `one knob at a time around ${grid[0].set.join(' ')}`;
console.log(`${values.preset}: ${what}, ${metric} (%), at most ${limit ?? 'all'} test images per category`);
const report = (title: string, rowsOf: number[]) => {
  const { inSampleChoice, rows: lodo } = leaveOneDatasetOut(rowsOf.map((i) => score[i]));
  const name = (r: number) => candidates[rowsOf[r]];
  if (title) console.log(`\n${title}`);
  console.log(`| held-out dataset | chosen on the other ${datasets.length - 1} | held-out ${metric} | in-sample choice (${name(inSampleChoice)}) | this dataset's best |`);
  console.log('|---|---|---|---|---|');
  const rows = lodo.map((r) => {
    console.log(`| ${datasets[r.dataset]} | ${name(r.chosen)} | ${pct(r.heldOut)} | ${pct(r.inSample)} | ${pct(r.ownBestValue)} (${name(r.ownBest)}) |`);
    return { dataset: datasets[r.dataset], chosen: name(r.chosen), held_out: r.heldOut, in_sample: r.inSample, own_best: name(r.ownBest), own_best_value: r.ownBestValue };
  });
  console.log(`| mean | | ${pct(mean(rows.map((r) => r.held_out)))} | ${pct(mean(rows.map((r) => r.in_sample)))} | ${pct(mean(rows.map((r) => r.own_best_value)))} |`);
  return rows;
};
if (knobs.length > 1) {
  console.log(`\n| config | ${datasets.join(' | ')} |\n|---|${datasets.map(() => '---|').join('')}`);
  for (const [c, name] of candidates.entries()) console.log(`| ${name} | ${score[c].map(pct).join(' | ')} |`);
}
const rows = report(knobs.length > 1 ? 'chosen over the whole grid:' : '', grid.map((_, i) => i));
const perKnob = knobs.length > 1 ? knobs.map((k, i) => ({ knob: k.key, rows: report(`chosen over ${k.key} alone:`, knobRows(grid, i)) })) : [];
if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), options: values, candidates, grid, datasets, score, metrics: allMetrics, rows, perKnob }, null, 2));
