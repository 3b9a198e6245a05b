/**
 * Few-shot anomaly maps as prompts on the shared samples: for each dataset, backbone and
 * threshold policy, pixel AUROC / AP / F1-max of the final map (docs/method.md §5 protocol, the
 * CategoryEvaluator), the quality of the binary mask itself (pooled pixel F1 and IoU: what the
 * threshold policy decides), and few-shot images/s. The "map only" row is the feature map
 * without thresholding or SAM.
 *
 *   npx tsx eval/bench-fewshot.ts [--max-images 12] [--k 4] [--seed 0]
 *       [--backbones mobilenetv2,sam] [--policies fixed:0.35,otsu,adaptive]
 *       [--datasets mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy,synthetic] [--no-sam] [--json out.json]
 *       [--input-size 256] [--layers 365_quantized,426_quantized]   (MobileNetV2 overrides)
 *
 * References are drawn with selectReferences (train normals when the category has any, else test
 * normals) and are never among the evaluated images. Normal test images are included.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBackbone, MOBILENETV2 } from '../src/models/backbones/index.js';
import { SHARED as SHARED_PATHS, sharedModelsDir } from '../test/support/shared.js';
import type { Backbone } from '../src/models/backbones/types.js';
import { loadDataset } from '../src/datasets/index.js';
import { selectReferences } from '../src/datasets/references.js';
import type { Sample } from '../src/datasets/types.js';
import { CategoryEvaluator } from '../src/evaluation/protocol.js';
import { parseThresholdPolicy, type ThresholdPolicy } from '../src/methods/components/threshold.js';
import { loadMask, loadRgb, type RgbImage } from '../src/image/io.js';
import { SamModel } from '../src/models/sam/model.js';
import { fewshotOptions, prepareFewshotCategory, type FewshotOptions } from '../src/methods/fewshot/algorithm.js';
import { refineWithSam } from '../src/methods/components/map-to-masks.js';
import { categoryThreshold, scoreQuery } from '../src/methods/fewshot/memory-bank.js';
import { generateSyntheticDataset } from '../src/synth/index.js';
import { mulberry32, sampleWithoutReplacement } from '../src/util/random.js';

const { values } = parseArgs({
  options: {
    'max-images': { type: 'string', default: '12' },
    k: { type: 'string', default: '4' },
    seed: { type: 'string', default: '0' },
    backbones: { type: 'string', default: 'mobilenetv2,sam' },
    policies: { type: 'string', default: 'fixed:0.3,otsu,adaptive:0.99,adaptive:0.999,adaptive:1' },
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy' },
    'no-sam': { type: 'boolean', default: false },
    /** Overrides of the MobileNetV2 entry, to compare input sizes and layers. */
    'input-size': { type: 'string' },
    layers: { type: 'string' },
    json: { type: 'string' },
  },
});

const SHARED = SHARED_PATHS.datasets;
const modelsDir = await sharedModelsDir();
const maxImages = Number(values['max-images']);
const k = Number(values.k);
const seed = Number(values.seed);
const policies: ThresholdPolicy[] = values.policies!.split(',').map(parseThresholdPolicy);
const policyNames = values.policies!.split(',');
const useSam = !values['no-sam'];

interface Row {
  dataset: string;
  backbone: string;
  policy: string;
  pixel_auroc: number;
  pixel_ap: number;
  pixel_f1_max: number;
  mask_f1: number;
  mask_iou: number;
  images: number;
  images_per_s: number;
}

/** Up to n test samples, anomalous and normal in their proportions, seeded. */
function pickTests(samples: Sample[], n: number): Sample[] {
  const anomalous = samples.filter((s) => s.label === 'anomalous');
  const normal = samples.filter((s) => s.label === 'normal');
  if (samples.length <= n) return samples;
  const na = Math.min(anomalous.length, Math.max(1, Math.round((n * anomalous.length) / samples.length)));
  return [...sampleWithoutReplacement(anomalous, na, mulberry32(seed)), ...sampleWithoutReplacement(normal, n - na, mulberry32(seed + 1))];
}

class MaskCounter {
  tp = 0;
  fp = 0;
  fn = 0;
  add(pred: Uint8Array, gt: Uint8Array | null): void {
    for (let i = 0; i < pred.length; i++) {
      const g = gt ? gt[i] : 0;
      if (pred[i] && g) this.tp++;
      else if (pred[i]) this.fp++;
      else if (g) this.fn++;
    }
  }
  f1(): number {
    return this.tp === 0 ? 0 : (2 * this.tp) / (2 * this.tp + this.fp + this.fn);
  }
  iou(): number {
    return this.tp === 0 ? 0 : this.tp / (this.tp + this.fp + this.fn);
  }
}

async function datasetRoots(): Promise<Array<{ name: string; root: string; cleanup?: () => Promise<void> }>> {
  const out: Array<{ name: string; root: string; cleanup?: () => Promise<void> }> = [];
  for (const name of values.datasets!.split(',')) {
    if (name === 'synthetic') {
      const dir = await mkdtemp(join(tmpdir(), 'iapas-synth-'));
      await generateSyntheticDataset(dir, { seed });
      out.push({ name, root: dir, cleanup: () => rm(dir, { recursive: true, force: true }) });
    } else if (name === 'mpdd') out.push({ name, root: join(SHARED, 'mpdd') });
    else if (name === 'ksdd-derived') out.push({ name, root: join(SHARED, 'ksdd-derived') });
    else out.push({ name, root: join(SHARED, name) });
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function main(): Promise<void> {
  const sam = useSam || values.backbones!.includes('sam') ? await SamModel.load(undefined, { memoryCapacity: 4 }) : undefined;
  const rows: Row[] = [];
  for (const ds of await datasetRoots()) {
    const index = await loadDataset(ds.root);
    for (const backboneName of values.backbones!.split(',')) {
      const entry =
        backboneName === 'mobilenetv2' && (values['input-size'] || values.layers)
          ? { ...MOBILENETV2, inputSize: Number(values['input-size'] ?? MOBILENETV2.inputSize), layers: values.layers?.split(',') ?? MOBILENETV2.layers }
          : backboneName;
      const backbone: Backbone = await loadBackbone(entry, { sam, modelsDir });
      const variants = ['map only', ...policyNames];
      const perVariant = new Map<string, { cats: Array<{ auroc: number; ap: number; f1: number }>; mask: MaskCounter; ms: number; images: number }>();
      for (const v of variants) perVariant.set(v, { cats: [], mask: new MaskCounter(), ms: 0, images: 0 });
      for (const category of index.categories) {
        const refs = selectReferences(index, category, k, seed);
        const refSet = new Set(refs.map((r) => r.imagePath));
        const tests = pickTests(
          index.samples.filter((s) => s.category === category && s.split === 'test' && !refSet.has(s.imagePath)),
          maxImages,
        );
        const refImages: RgbImage[] = [];
        for (const r of refs) refImages.push(await loadRgb(r.imagePath));
        const evaluators = new Map(variants.map((v) => [v, new CategoryEvaluator(category, tests.length)]));
        const categories = new Map<string, { opts: FewshotOptions; cat: Awaited<ReturnType<typeof prepareFewshotCategory>> }>();
        const t0 = performance.now();
        const base = await prepareFewshotCategory(backbone, refImages, fewshotOptions({ threshold: { kind: 'otsu' } }));
        const prepMs = performance.now() - t0;
        for (let p = 0; p < policies.length; p++) {
          const opts = fewshotOptions({ threshold: policies[p], useSam });
          const cat = { bank: base.bank, categoryThreshold: policies[p].kind === 'adaptive' ? categoryThreshold(base.bank, policies[p] as { quantile?: number; factor?: number }) : null };
          categories.set(policyNames[p], { opts, cat });
        }
        for (const s of tests) {
          const image = await loadRgb(s.imagePath);
          const gt = s.maskPath ? (await loadMask(s.maskPath)).data : null;
          const t1 = performance.now();
          const featureMap = await scoreQuery(backbone, base.bank, image);
          const featureMs = performance.now() - t1 + prepMs / tests.length;
          // SAM encodes each image once (its memory cache serves every policy); count it for each.
          const t3 = performance.now();
          if (sam && useSam) await sam.encode(image);
          const encodeMs = performance.now() - t3;
          const pv = perVariant.get('map only')!;
          pv.ms += featureMs;
          pv.images++;
          evaluators.get('map only')!.add(s.relId, s.label === 'anomalous', { data: featureMap, width: image.width, height: image.height }, gt ? { data: gt, width: image.width, height: image.height } : null);
          for (const name of policyNames) {
            const { opts, cat } = categories.get(name)!;
            const t2 = performance.now();
            const r = await refineWithSam(image, featureMap, cat, { sam }, opts);
            const v = perVariant.get(name)!;
            v.ms += featureMs + encodeMs + performance.now() - t2;
            v.images++;
            v.mask.add(r.mask, gt);
            evaluators.get(name)!.add(s.relId, s.label === 'anomalous', { data: r.map, width: r.width, height: r.height }, gt ? { data: gt, width: image.width, height: image.height } : null);
          }
        }
        for (const v of variants) {
          const m = evaluators.get(v)!.finish();
          perVariant.get(v)!.cats.push({ auroc: m.pixel_auroc ?? NaN, ap: m.pixel_ap ?? NaN, f1: m.pixel_f1_max ?? NaN });
        }
        process.stderr.write(`${ds.name}/${category} ${backboneName}: ${tests.length} images\n`);
      }
      for (const v of variants) {
        const pv = perVariant.get(v)!;
        rows.push({
          dataset: ds.name,
          backbone: backboneName,
          policy: v,
          pixel_auroc: mean(pv.cats.map((c) => c.auroc)),
          pixel_ap: mean(pv.cats.map((c) => c.ap)),
          pixel_f1_max: mean(pv.cats.map((c) => c.f1)),
          mask_f1: v === 'map only' ? NaN : pv.mask.f1(),
          mask_iou: v === 'map only' ? NaN : pv.mask.iou(),
          images: pv.images,
          images_per_s: pv.images / (pv.ms / 1000),
        });
      }
      await backbone.dispose?.();
    }
    await ds.cleanup?.();
  }
  const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '-');
  console.log(
    `few-shot maps as prompts: k=${k}, seed=${seed}, <= ${maxImages} test images per category, SAM refinement ${useSam ? 'on' : 'off'}` +
      (values['input-size'] || values.layers ? `, mobilenetv2 input ${values['input-size'] ?? MOBILENETV2.inputSize} layers ${values.layers ?? MOBILENETV2.layers.join(',')}` : ''),
  );
  console.log('dataset        backbone     policy             P-AUROC  P-AP  P-F1max  mask-F1  mask-IoU  img/s');
  for (const r of rows) {
    console.log(
      `${r.dataset.padEnd(14)} ${r.backbone.padEnd(12)} ${r.policy.padEnd(18)} ${pct(r.pixel_auroc).padStart(7)} ${pct(r.pixel_ap).padStart(5)} ${pct(r.pixel_f1_max).padStart(8)} ${pct(r.mask_f1).padStart(8)} ${pct(r.mask_iou).padStart(9)} ${r.images_per_s.toFixed(2).padStart(6)}`,
    );
  }
  if (values.json) await writeFile(values.json, JSON.stringify({ k, seed, maxImages, useSam, rows }, null, 2));
  if (sam) await sam.dispose();
}

await main();
