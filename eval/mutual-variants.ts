/**
 * `mutual` variants side by side on the shared sets, chosen leave-one-dataset-out: each variant (a
 * list of config keys) runs on every dataset through `iapas run`'s machinery, one cache shared (so
 * the encoder pass of an image is paid once over all variants), then per dataset the variant with
 * the best mean pixel F1-max over the *other* datasets is reported on it (src/evaluation/held-out.ts).
 * Prints pixel AP / F1-max and image AUROC per variant and dataset (in-sample), the held-out
 * table, and the per-image time of the map stage (search + maps, no model time). List today's
 * default first: ties keep it. Asserts nothing.
 *
 *   npx tsx eval/mutual-variants.ts --variant 'default' --variant 'mask=mutual.mask=0.05' ...
 *       [--datasets mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy] [--limit 24]
 *       [--work /tmp/iapas-mutual-variants] [--json out.json] [--set key=value ...]
 *
 * A variant is `name` or `name=key=value,key=value` (keys as `--set` takes them; a value may be a
 * list, `keeps=[0.1,0.2]`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, runOnDataset } from '../src/api/index.js';
import { leaveOneDatasetOut } from '../src/evaluation/held-out.js';
import { SHARED, sharedModelsDir } from '../test/support/shared.js';
import { mean } from '../src/util/numeric.js';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true, default: [] },
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy' },
    limit: { type: 'string', default: '24' },
    work: { type: 'string', default: '/tmp/iapas-mutual-variants' },
    json: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const variants = values.variant!.map((v) => {
  const eq = v.indexOf('=');
  if (eq < 0) return { name: v, set: [] as string[] };
  // Split at commas that start a new key, so a value may be a list: keeps=[0.1,0.2].
  return { name: v.slice(0, eq), set: v.slice(eq + 1).split(/,(?=[\w.]+=)/).filter(Boolean) };
});
if (variants.length === 0) throw new Error("--variant 'name[=key=value,...]' at least once (today's default first)");
const datasets = values.datasets!.split(',');
const limit = values.limit === '0' ? undefined : Number(values.limit);
const pct = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? '-' : (100 * v).toFixed(1));

const modelsDir = await sharedModelsDir();
await mkdir(values.work!, { recursive: true });
type Cell = { ap: number; f1: number; iauroc: number; mapMsPerImage: number; images: number };
const cells: Cell[][] = variants.map(() => []);
for (const [c, v] of variants.entries()) {
  for (const ds of datasets) {
    const config = await loadConfig({
      preset: 'mutual',
      overrides: { models_dir: modelsDir, concurrency: 1, cache_dir: join(values.work!, 'cache') },
      set: [...values.set!, ...v.set],
    });
    const res = await runOnDataset({ config, dataset: join(SHARED.datasets, ds), runDir: join(values.work!, 'runs', `${v.name}-${ds}`), limit, quiet: true });
    const m = res.metrics!.mean;
    const images = res.metrics!.categories.reduce((a, k) => a + k.n_images, 0);
    const t = (name: string) => res.run.timing[name]?.total_ms ?? 0;
    // The map work of every image: the pool members' (stage A) and the others' (stage B).
    const mapMs = t('mutual-pool/search') + t('mutual-pool/build') + t('anomaly-map');
    const cell = { ap: m.pixel_ap ?? NaN, f1: m.pixel_f1_max ?? NaN, iauroc: m.image_auroc ?? NaN, mapMsPerImage: mapMs / images, images };
    cells[c].push(cell);
    process.stderr.write(`  ${v.name} on ${ds}: ${pct(cell.ap)} / ${pct(cell.f1)}, ${pct(cell.iauroc)}; ${cell.mapMsPerImage.toFixed(0)} ms map work per image\n`);
    // Written after every cell, so that a long run stopped early keeps its figures.
    if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), partial: true, options: values, variants, datasets, cells }, null, 2));
  }
}
console.log(`mutual variants, pixel AP / F1-max, image AUROC (%), in-sample; at most ${limit ?? 'all'} test images per category`);
console.log(`| variant | ${datasets.join(' | ')} | mean F1-max | map ms / image |`);
console.log(`|---|${datasets.map(() => '---|').join('')}---|---|`);
for (const [c, v] of variants.entries()) {
  const row = cells[c].map((x) => `${pct(x.ap)} / ${pct(x.f1)}, ${pct(x.iauroc)}`).join(' | ');
  const ms = cells[c].reduce((a, x) => a + x.mapMsPerImage * x.images, 0) / cells[c].reduce((a, x) => a + x.images, 0);
  console.log(`| ${v.name} ${v.set.join(' ')} | ${row} | ${pct(mean(cells[c].map((x) => x.f1)))} | ${ms.toFixed(0)} |`);
}
if (variants.length > 1 && datasets.length > 1) {
  const { inSampleChoice, rows } = leaveOneDatasetOut(cells.map((r) => r.map((x) => x.f1)));
  console.log(`\nheld-out pixel F1-max (chosen on the other ${datasets.length - 1} datasets); in-sample choice: ${variants[inSampleChoice].name}`);
  console.log('| held-out dataset | chosen | held-out F1-max | in-sample choice | own best |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${datasets[r.dataset]} | ${variants[r.chosen].name} | ${pct(r.heldOut)} | ${pct(r.inSample)} | ${pct(r.ownBestValue)} (${variants[r.ownBest].name}) |`);
  console.log(`| mean | | ${pct(mean(rows.map((r) => r.heldOut)))} | ${pct(mean(rows.map((r) => r.inSample)))} | ${pct(mean(rows.map((r) => r.ownBestValue)))} |`);
}
if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), options: values, variants, datasets, cells }, null, 2));
