/**
 * Leave-one-dataset-out choice among candidates already measured by `eval/stress-sets.ts` (one
 * `--json` per candidate, the same datasets and variants): per dataset, the candidate with the
 * best mean over the other datasets, its figure on the held-out one, the in-sample choice and the
 * dataset's own best (`leaveOneDatasetOut`; ties keep the earlier candidate, so list today's
 * default first). Chosen three ways: on the unturned variant ('none'), on 'rotate', and on the mean
 * of the two per dataset. Reads files only, runs nothing; asserts nothing.
 *
 *   npx tsx eval/stress-lodo.ts --run default=a.json --run auto=c.json [...] [--metric pixel_f1_max]
 *       [--variants none,rotate]   (--metric: pixel_ap, pixel_f1_max, image_auroc or lowest_image_auroc)
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { leaveOneDatasetOut } from '../src/evaluation/held-out.js';
import { mean } from '../src/util/numeric.js';

const { values } = parseArgs({
  options: {
    run: { type: 'string', multiple: true, default: [] },
    metric: { type: 'string', default: 'pixel_f1_max' },
    variants: { type: 'string', default: 'none,rotate' },
  },
});
if (values.run!.length < 2) throw new Error('--run label=file.json, at least twice');
type Row = { dataset: string; variant: string; [metric: string]: unknown };
const runs = await Promise.all(
  values.run!.map(async (r) => {
    const at = r.indexOf('=');
    if (at < 1) throw new Error(`--run expects label=file.json, got '${r}'`);
    const rows = (JSON.parse(await readFile(r.slice(at + 1), 'utf8')) as { rows: Row[] }).rows;
    return { label: r.slice(0, at), rows };
  }),
);
const variants = values.variants!.split(',');
const datasets = [...new Set(runs[0].rows.map((r) => r.dataset))];
const figure = (rows: Row[], ds: string, v: string): number => {
  const row = rows.find((r) => r.dataset === ds && r.variant === v);
  // 'lowest_image_auroc': the lowest image AUROC of any category (a goal of issue 22: none below 70 %).
  const x = values.metric === 'lowest_image_auroc' ? (row?.lowest as { image_auroc?: unknown } | undefined)?.image_auroc : row?.[values.metric!];
  if (typeof x !== 'number') throw new Error(`no ${values.metric} for ${ds} / ${v}`);
  return x;
};
const pct = (v: number) => (100 * v).toFixed(1);
const choices: Array<[string, (rows: Row[], ds: string) => number]> = [
  ...variants.map((v) => [v, (rows: Row[], ds: string) => figure(rows, ds, v)] as [string, (rows: Row[], ds: string) => number]),
  [`mean of ${variants.join(' + ')}`, (rows, ds) => mean(variants.map((v) => figure(rows, ds, v)))],
];
for (const [name, fig] of choices) {
  const score = runs.map((r) => datasets.map((ds) => fig(r.rows, ds)));
  const { inSampleChoice, rows } = leaveOneDatasetOut(score);
  console.log(`\n${values.metric} on ${name}; candidates ${runs.map((r) => r.label).join(', ')}; in-sample choice ${runs[inSampleChoice].label}`);
  console.log(`| held-out dataset | ${runs.map((r) => r.label).join(' | ')} | chosen on the others | held-out | in-sample | own best |`);
  console.log(`|---|${runs.map(() => '---|').join('')}---|---|---|---|`);
  for (const row of rows) {
    console.log(`| ${datasets[row.dataset]} | ${score.map((s) => pct(s[row.dataset])).join(' | ')} | ${runs[row.chosen].label} | ${pct(row.heldOut)} | ${pct(row.inSample)} | ${runs[row.ownBest].label} ${pct(row.ownBestValue)} |`);
  }
  console.log(`| mean | ${score.map((s) => pct(mean(s))).join(' | ')} | | ${pct(mean(rows.map((r) => r.heldOut)))} | ${pct(mean(rows.map((r) => r.inSample)))} | |`);
}
