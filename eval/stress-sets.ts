/**
 * The default preset on stress variants of the shared datasets, built here from the shared data
 * (src/synth/stress.ts; written under --work, never committed): the same references and test
 * images per category as a `--limit` run picks, then the test images rotated by random angles and
 * shifted ('rotate'), re-exposed ('brightness') or blurred ('blur'), and the untransformed tree
 * ('none') with k = 4, 2 and 1 references. Per dataset and variant: pixel AP / F1-max, image
 * AUROC, and the lowest image AUROC of any category. The seed draws the references (as `--seed`
 * does for a run) and the stress parameters; at the config's default seed the 'none' row is the
 * figure `eval/bench-maps.ts` gives for the same limit. Asserts nothing.
 *
 *   npx tsx eval/stress-sets.ts [--preset fewshot] [--datasets mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy]
 *       [--variants none,k2,k1,rotate,brightness,blur] [--limit 24] [--seed <config default>] [--max-angle 180]
 *       [--work /tmp/iapas-stress] [--cache <work>/cache] [--json out.json] [--set key=value ...]
 *
 * Runs of several configs each need a `--work` of their own (the run directories are there) and
 * may share one `--cache`, so passes a config does not change are computed once.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_DEFAULTS, loadConfig, loadDataset, runOnDataset, UserError } from '../src/api/index.js';
import { buildJobs, selectCategories } from '../src/session/jobs.js';
import { writeStressSet, type StressKind } from '../src/synth/stress.js';
import { SHARED, sharedModelsDir } from '../test/support/shared.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'fewshot' },
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy' },
    variants: { type: 'string', default: 'none,k2,k1,rotate,brightness,blur' },
    limit: { type: 'string', default: '24' },
    seed: { type: 'string', default: String(CONFIG_DEFAULTS.seed) },
    'max-angle': { type: 'string', default: '180' },
    work: { type: 'string', default: '/tmp/iapas-stress' },
    cache: { type: 'string' },
    json: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : (100 * v).toFixed(1));
const VARIANTS: Record<string, { kind: StressKind | 'none'; k: number }> = {
  none: { kind: 'none', k: 4 },
  k2: { kind: 'none', k: 2 },
  k1: { kind: 'none', k: 1 },
  rotate: { kind: 'rotate', k: 4 },
  brightness: { kind: 'brightness', k: 4 },
  blur: { kind: 'blur', k: 4 },
};

const variants = values.variants!.split(',');
for (const v of variants) if (!VARIANTS[v]) throw new Error(`unknown variant ${v} (${Object.keys(VARIANTS).join(', ')})`);
const limit = values.limit === '0' ? undefined : Number(values.limit);
const modelsDir = await sharedModelsDir();
const rows: Array<Record<string, unknown>> = [];
console.log(`${values.preset} on stress variants; at most ${limit ?? 'all'} test images per category; seed ${values.seed}; values in %`);
console.log('| dataset | variant | k | images | P-AP | P-F1max | I-AUROC | lowest category I-AUROC |');
console.log('|---|---|---|---|---|---|---|---|');
try {
  for (const ds of values.datasets!.split(',')) {
    const index = await loadDataset(join(SHARED.datasets, ds));
    // The references and tests a limited run of the preset picks, at k = 4.
    const pickConfig = await loadConfig({ preset: values.preset, set: ['references.k=4', `seed=${values.seed}`, ...values.set!] });
    const jobs = buildJobs(index, pickConfig, selectCategories(index), { needsReferences: true, excludeReferences: true, limit });
    const source = {
      categories: jobs.map((j) => j.category),
      samples: jobs.flatMap((j) => [...j.references.map((s) => ({ ...s, split: 'train' as const })), ...j.tests.map((s) => ({ ...s, split: 'test' as const }))]),
    };
    const built = new Map<string, string>();
    for (const v of variants) {
      const { kind, k } = VARIANTS[v];
      let root = built.get(kind);
      if (!root) {
        root = join(values.work!, ds, kind);
        await rm(root, { recursive: true, force: true });
        await mkdir(root, { recursive: true });
        await writeStressSet(source, root, kind, Number(values.seed), { maxAngle: Number(values['max-angle']) });
        built.set(kind, root);
      }
      const config = await loadConfig({
        preset: values.preset,
        overrides: { models_dir: modelsDir, concurrency: 1, cache_dir: values.cache ?? join(values.work!, 'cache') },
        set: [`references.k=${k}`, `seed=${values.seed}`, ...values.set!],
      });
      let res;
      try {
        res = await runOnDataset({ config, dataset: root, runDir: join(values.work!, 'runs', `${ds}-${v}`), quiet: true });
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        console.log(`| ${ds} | ${v} | ${k} | - | refused: ${e.message.split(';')[0]} | | | |`);
        rows.push({ dataset: ds, variant: v, k, refused: e.message });
        continue;
      }
      const m = res.metrics!;
      const lowest = m.categories.reduce((a, c) => ((c.image_auroc ?? 1) < (a.image_auroc ?? 1) ? c : a), m.categories[0]);
      const images = m.categories.reduce((a, c) => a + c.n_images, 0);
      rows.push({ dataset: ds, variant: v, k, images, pixel_ap: m.mean.pixel_ap, pixel_f1_max: m.mean.pixel_f1_max, image_auroc: m.mean.image_auroc, lowest: { category: lowest.category, image_auroc: lowest.image_auroc }, categories: m.categories.map((c) => ({ category: c.category, pixel_ap: c.pixel_ap, pixel_f1_max: c.pixel_f1_max, image_auroc: c.image_auroc })) });
      console.log(`| ${ds} | ${v} | ${k} | ${images} | ${pct(m.mean.pixel_ap)} | ${pct(m.mean.pixel_f1_max)} | ${pct(m.mean.image_auroc)} | ${pct(lowest.image_auroc)} (${lowest.category}) |`);
    }
  }
} finally {
  await rm(modelsDir, { recursive: true, force: true });
}
if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), options: values, rows }, null, 2));
