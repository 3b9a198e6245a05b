/**
 * Leave-one-dataset-out tuning of SAM's decoder on the shared sets: for each held-out dataset,
 * tune on the other four (runTune, the library behind `iapas tune`), then on the held-out one run
 * oracle `b` / `bp` (IoU, P-AUROC) and `fewshot` (pixel AP / F1-max, bench-maps protocol: k = 4,
 * at most --limit test images per category) with the tuned decoder, against the frozen decoder.
 * Every tuned figure is held-out by construction (the seen-data check runs before each
 * evaluation and would refuse otherwise). One embedding cache serves every fold and method: the
 * encoder is frozen, so each image is encoded once. Asserts nothing.
 *
 *   nice -n 19 node --import tsx eval/tune-lodo.ts [--methods frozen,box,sam-sp,spt] [--datasets mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy]
 *       [--folds mtd,...] [--max-images 4] [--epochs 1] [--limit 24] [--oracle-max-images 24] [--rank 4] [--lr 1e-4]
 *       [--targets q,v] [--iou-weight 1] [--mask-weight 1] [--no-fewshot] [--json out.json] [--keep <dir>]
 *
 * --max-images: training images per training dataset; --oracle-max-images: anomalous images per
 * category the oracle scores on the held-out set. --folds: which of --datasets are held out in
 * turn (default all); each fold trains on the other --datasets, so `--datasets a,b,c,d --folds d`
 * is an inner split that never reads a fifth set (how settings are chosen without the test fold).
 * spt's tuned pair (draft.onnx beside sam.onnx) is the decoder like any other: the SAM model
 * detects the pair and runs draft then refine in the oracle and in fewshot.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { tuneSchema } from '../src/config/schema.js';
import { loadDataset } from '../src/datasets/index.js';
import { runOracle } from '../src/methods/oracle/study.js';
import { parseRefinePolicyName, refinePolicyFrom } from '../src/methods/components/sam-refine.js';
import { samSchema } from '../src/config/schema.js';
import { buildConfig, getPreset } from '../src/methods/registry.js';
import { defaultSamEntry } from '../src/models/sam/model-entry.js';
import { SamModel } from '../src/models/sam/model.js';
import { checkUnseen } from '../src/models/sam/seen-data.js';
import { runOnDataset } from '../src/session/run-dataset.js';
import { runTune } from '../src/tuning/run-tune.js';
import { DiskCache } from '../src/util/disk-cache.js';
import { SHARED, sharedModelsDir } from '../test/support/shared.js';

const { values } = parseArgs({
  options: {
    methods: { type: 'string', default: 'frozen,sam-sp' },
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy' },
    'max-images': { type: 'string', default: '4' },
    epochs: { type: 'string', default: '1' },
    limit: { type: 'string', default: '24' },
    'oracle-max-images': { type: 'string', default: '24' },
    rank: { type: 'string', default: '4' },
    lr: { type: 'string' },
    folds: { type: 'string' },
    targets: { type: 'string', default: 'q,v' },
    'iou-weight': { type: 'string', default: '1' },
    'mask-weight': { type: 'string', default: '1' },
    sampling: { type: 'string', default: 'first' },
    'no-fewshot': { type: 'boolean', default: false },
    json: { type: 'string' },
    keep: { type: 'string' },
  },
});

const methods = values.methods!.split(',');
const datasets = values.datasets!.split(',');
const maxImages = Number(values['max-images']);
const epochs = Number(values.epochs);
const limit = Number(values.limit);
const oracleMax = Number(values['oracle-max-images']);
const rank = Number(values.rank);
const folds = values.folds ? values.folds.split(',') : datasets;
const targets = values.targets!.split(',');
const iouWeight = Number(values['iou-weight']);
// BCE and Dice together: 0 trains only the IoU head's ranking of the four masks (the headroom eval/decoder-headroom.ts measures).
const maskWeight = Number(values['mask-weight']);
// Runs of other settings into one --keep directory each get their own output (and checkpoint).
const sampling = values.sampling as 'first' | 'spread';
if (!['first', 'spread'].includes(sampling)) throw new Error(`--sampling ${sampling}: first or spread`);
const tag = `${sampling === 'first' ? '' : `${sampling}-`}m${values['max-images']}-e${epochs}-r${rank}-${targets.join('')}-lr${values.lr ?? 'default'}-iou${iouWeight}${maskWeight === 1 ? '' : `-mask${maskWeight}`}`;
for (const f of folds) if (!datasets.includes(f)) throw new Error(`--folds ${f} is not one of --datasets ${datasets.join(',')}`);
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : (100 * v).toFixed(1));
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

interface Row {
  method: string;
  dataset: string;
  b_iou: number | null;
  bp_iou: number | null;
  b_pauroc: number | null;
  bp_pauroc: number | null;
  pixel_ap: number | null;
  pixel_f1_max: number | null;
  tune_s?: number;
  steps?: number;
  s_per_step?: number;
  s_per_epoch?: number;
  epoch_losses?: number[];
  oracle_s: number;
  fewshot_s: number;
  peak_rss_mb: number;
}

/**
 * `frozenSingle`: the untuned decoder read through sam.multimask=single (token 0) in the oracle
 * and in fewshot. A decoder tuned with tune.output=single needs no flag: it says so in its
 * metadata and the SAM model returns token 0 for it (models/sam/decoder-output.ts).
 */
async function evaluate(method: string, ds: string, decoder: string | undefined, cache: DiskCache, modelsDir: string, work: string, frozenSingle = false): Promise<Omit<Row, 'method' | 'dataset' | 'peak_rss_mb'>> {
  const root = join(SHARED.datasets, ds);
  const index = await loadDataset(root);
  // The guard every command runs: a tuned decoder is never scored on its training images.
  await checkUnseen(decoder, index.samples.filter((s) => s.label === 'anomalous' && s.maskPath).map((s) => s.imagePath), { allow: false, what: `lodo ${method} on ${ds}` });
  let t = performance.now();
  const sam = await SamModel.load({ ...defaultSamEntry(), ...(decoder ? { decoderPath: decoder } : {}) }, { cache });
  let oracle;
  try {
    const single = parseRefinePolicyName('single', refinePolicyFrom(samSchema.parse({})));
    oracle = await runOracle(sam, index.samples, { modes: ['b', 'bp'], ...(frozenSingle ? { refine: [single] } : {}), categories: index.categories, maxImages: oracleMax, includeNormal: false, evalSize: 256, points: 20, seed: 0, quiet: true });
  } finally {
    await sam.dispose();
  }
  const oracleS = (performance.now() - t) / 1000;
  const b = oracle.mean[frozenSingle ? 'b+single' : 'b'];
  const bp = oracle.mean[frozenSingle ? 'bp+single' : 'bp'];
  const figures = { b_iou: b.iou, bp_iou: bp.iou, b_pauroc: b.pixel_auroc, bp_pauroc: bp.pixel_auroc, oracle_s: oracleS };
  if (values['no-fewshot']) return { ...figures, pixel_ap: null, pixel_f1_max: null, fewshot_s: 0 };
  t = performance.now();
  const config = buildConfig('fewshot', {
    presetDefaults: getPreset('fewshot').defaults,
    flags: { models_dir: modelsDir, concurrency: 1, references: { k: 4 }, cache_dir: cache.root, ...(decoder || frozenSingle ? { sam: { ...(decoder ? { decoder } : {}), ...(frozenSingle ? { multimask: 'single' } : {}) } } : {}) },
  });
  // A run directory left by an earlier, killed call of this script in the same --keep directory is not resumed: its settings may differ.
  const runDir = join(work, `${method}-${ds}`);
  await rm(runDir, { recursive: true, force: true });
  const res = await runOnDataset({ config, dataset: root, index, runDir, limit, quiet: true });
  const m = res.metrics!.mean;
  return {
    ...figures,
    pixel_ap: m.pixel_ap,
    pixel_f1_max: m.pixel_f1_max,
    fewshot_s: (performance.now() - t) / 1000,
  };
}

async function main(): Promise<void> {
  const work = values.keep ?? (await mkdtemp(join(tmpdir(), 'iapas-tune-lodo-')));
  const cache = new DiskCache(join(work, 'cache'));
  const modelsDir = await sharedModelsDir();
  const rows: Row[] = [];
  const all = datasets.map((d) => join(SHARED.datasets, d));
  console.log(`LODO: train ${maxImages} anomalous images per training dataset (${sampling}), ${epochs} epoch(s), LoRA rank ${rank} on ${targets.join('/')}, lr ${values.lr ?? 'default'}, IoU-head weight ${iouWeight}, BCE/Dice weight ${maskWeight}; oracle <= ${oracleMax} anomalous images per category (eval 256 px); fewshot k 4, <= ${limit} test images per category`);
  try {
    for (const ds of folds) {
      for (const method of methods) {
        let decoder: string | undefined;
        let tuneS: number | undefined;
        let steps: number | undefined;
        let epochLosses: number[] | undefined;
        // `<method>-single`: trained on token 0 (tune.output=single); `frozen-single`: the untuned decoder's token 0.
        const single = method.endsWith('-single');
        const base = single ? method.slice(0, -'-single'.length) : method;
        if (base !== 'frozen') {
          const t = performance.now();
          const settings = tuneSchema.parse({ method: base, output: single ? 'single' : 'best', sampling, data: all, holdout: [ds], epochs, seed: 0, lora: { rank, alpha: rank, targets }, losses: { iou: iouWeight, bce: maskWeight, dice: maskWeight }, ...(values.lr ? { lr: Number(values.lr) } : {}) });
          const r = await runTune({ settings, out: join(work, `tuned-${method}-${ds}-${tag}`), cache, maxImages, quiet: true });
          decoder = r.decoderPath;
          steps = r.steps;
          epochLosses = r.epochLosses;
          tuneS = (performance.now() - t) / 1000;
        }
        const e = await evaluate(method, ds, decoder, cache, modelsDir, work, base === 'frozen' && single);
        const row: Row = { method, dataset: ds, ...e, tune_s: tuneS, steps, s_per_step: tuneS && steps ? tuneS / steps : undefined, s_per_epoch: tuneS ? tuneS / epochs : undefined, epoch_losses: epochLosses, peak_rss_mb: rssMb() };
        rows.push(row);
        console.log(
          `fold ${ds} ${method}: b ${pct(row.b_iou)} bp ${pct(row.bp_iou)} | P-AUROC b ${pct(row.b_pauroc)} bp ${pct(row.bp_pauroc)} | fewshot AP ${pct(row.pixel_ap)} F1 ${pct(row.pixel_f1_max)} | tune ${tuneS?.toFixed(0) ?? '-'} s (${steps ?? '-'} steps, ${row.s_per_step?.toFixed(2) ?? '-'} s/step, loss ${epochLosses?.map((l) => l.toFixed(3)).join(' > ') ?? '-'}) oracle ${row.oracle_s.toFixed(0)} s fewshot ${row.fewshot_s.toFixed(0)} s | peak RSS ${row.peak_rss_mb} MB`,
        );
      }
    }
  } finally {
    if (!values.keep) await rm(work, { recursive: true, force: true });
    await rm(modelsDir, { recursive: true, force: true });
  }
  console.log('\n| method | ' + folds.map((d) => `${d} b / bp IoU, F1 / AP`).join(' | ') + ' |');
  console.log('|---|' + folds.map(() => '---|').join(''));
  for (const method of methods) {
    const cells = folds.map((d) => {
      const r = rows.find((x) => x.method === method && x.dataset === d);
      return r ? `${pct(r.b_iou)} / ${pct(r.bp_iou)}, ${pct(r.pixel_f1_max)} / ${pct(r.pixel_ap)}` : '-';
    });
    console.log(`| ${method} | ${cells.join(' | ')} |`);
  }
  if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), settings: { datasets, folds, sampling, maxImages, epochs, limit, oracleMax, rank, targets, iouWeight, maskWeight, lr: values.lr ?? null }, rows }, null, 2));
}

await main();
