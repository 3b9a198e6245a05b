/**
 * The few-shot preset with and without SAM refinement on the shared samples: for each dataset and
 * refinement policy, one `iapas run` (in process, no cache, as
 * `npx iapas run --preset fewshot --dataset ../shared/datasets/<d> --no-cache --quiet --run-dir <dir>/<d>-<policy> --set sam.refine=...`),
 * then pixel AP / F1-max (mean over categories), SAM decoder calls per image (exact) and the
 * refinement stage's time per image (wall time of the `sam-refine` stage, images overlapping as
 * `--concurrency` lets them: compare it between policies of one invocation only).
 *
 *   npx tsx eval/fewshot-refine.ts [--datasets mvtec_ad,mpdd,ksdd-derived,mtd,hazelnut_toy]
 *       [--policies none,self,cascade,multimask,multimask:map] [--preset fewshot] [--out /tmp/fewshot-refine] [--json out.json]
 *       [--cache-dir dir]   (share the encoder passes and raw maps between policies)
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseRefinePolicyName, refinePolicyFrom } from '../src/methods/components/sam-refine.js';
import { runOnDataset } from '../src/session/run-dataset.js';
import { SHARED } from '../test/support/shared.js';
import { buildConfig, CONFIG_DEFAULTS, getPreset } from '../src/methods/registry.js';

const { values } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,ksdd-derived,mtd,hazelnut_toy' },
    policies: { type: 'string', default: 'none,self,cascade,multimask,multimask:map' },
    preset: { type: 'string', default: 'fewshot' },
    out: { type: 'string', default: '/tmp/fewshot-refine' },
    json: { type: 'string' },
    // A model-output cache shared by the policies: the encoder passes and raw maps of the first
    // policy serve the others (refinement policies always decode; they are never cached).
    'cache-dir': { type: 'string' },
  },
});

const base = refinePolicyFrom(CONFIG_DEFAULTS.sam);
const preset = getPreset(values.preset!);
const rows: Array<Record<string, unknown>> = [];
const pct = (v: unknown) => (typeof v === 'number' ? (100 * v).toFixed(1) : 'n/a');
process.stdout.write('dataset          policy          P-AP  F1-max  decoder calls/img  sam-refine ms/img  images\n');
for (const dataset of values.datasets!.split(',')) {
  for (const name of values.policies!.split(',')) {
    const p = parseRefinePolicyName(name, base);
    const config = buildConfig(preset.name, { presetDefaults: preset.defaults, flags: { ...(values['cache-dir'] ? { cache_dir: values['cache-dir'] } : { cache: false }), sam: { refine: p.refine, multimask: p.multimask } } });
    const runDir = join(values.out!, `${dataset}-${name.replace(/[:+]/g, '_')}`);
    await rm(runDir, { recursive: true, force: true });
    await mkdir(values.out!, { recursive: true });
    const res = await runOnDataset({ config, dataset: join(SHARED.datasets, dataset), runDir, quiet: true });
    const images = res.run.categories.reduce((a, c) => a + c.computed, 0);
    const refine = res.run.timing['sam-refine'];
    const row = {
      dataset,
      policy: name,
      pixel_ap: res.metrics?.mean.pixel_ap ?? null,
      pixel_f1_max: res.metrics?.mean.pixel_f1_max ?? null,
      images,
      decoder_calls_per_image: images ? res.run.modelRuns['sam-decoder'] / images : null,
      refine_ms_per_image: refine?.ms_per_call ?? null,
      run_dir: runDir,
    };
    rows.push(row);
    process.stdout.write(
      `${dataset.padEnd(16)} ${name.padEnd(14)} ${pct(row.pixel_ap).padStart(5)} ${pct(row.pixel_f1_max).padStart(7)} ${(row.decoder_calls_per_image ?? 0).toFixed(2).padStart(18)} ${String(Math.round(row.refine_ms_per_image ?? 0)).padStart(18)} ${String(images).padStart(7)}\n`,
    );
  }
}
if (values.json) await writeFile(values.json, JSON.stringify(rows, null, 2));
