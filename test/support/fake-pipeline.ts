/**
 * A model-free pipeline for tests of the run machinery (run directories, resume, locks, kills):
 * the real decode stages, then a map that depends on the image's pixels and on the category's
 * reference images (|gray - mean gray of the references| plus a position pattern), so a changed
 * image or reference changes the maps and the metrics. `delayMs` makes each image take a while,
 * for tests that interrupt a run.
 *
 * Also writes small MVTec-layout datasets with real PNG/JPEG files.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { CategoryState, ImageState, Pipeline, Stage } from '../../src/pipeline/types.js';
import { definePipeline } from '../../src/pipeline/types.js';
import { decodeImage, loadReferences } from '../../src/stages/decode.js';

const refMean: Stage<CategoryState<number>> = {
  name: 'fake-memory',
  reads: ['refImages'],
  writes: ['memory', 'notes'],
  async run(s) {
    let sum = 0;
    let n = 0;
    for (const r of s.refImages!) for (let i = 0; i < r.data.length; i++, n++) sum += r.data[i];
    const mean = n ? sum / n : 0;
    return { memory: mean, notes: { reference_mean: +mean.toFixed(6) } };
  },
};

function fakeMap(delayMs: number): Stage<ImageState<number>> {
  return {
    name: 'fake-map',
    reads: ['image', 'category'],
    writes: ['map'],
    async run(s) {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const { width, height, data } = s.image!;
      const mean = s.category.memory ?? 0;
      const map = new Float32Array(width * height);
      for (let i = 0; i < map.length; i++) {
        const gray = (data[i * 3] + 2 * data[i * 3 + 1] + data[i * 3 + 2]) / 4;
        map[i] = Math.abs(gray - mean) / 255 + ((i * 7919) % 13) / 1300;
      }
      return { map };
    },
  };
}

export function fakePipeline(opts: { delayMs?: number } = {}): Pipeline {
  return definePipeline({
    name: 'fake',
    categoryStages: [loadReferences, refMean],
    imageStages: [decodeImage, fakeMap(opts.delayMs ?? 0)],
    models: [{ name: 'fake-model', files: [{ path: 'none', sha256: '0'.repeat(64) }] }],
    referencesAreShots: true,
  });
}

export const SIDE = 32;

/** An RGB image: background `bg`, and when `defect` a bright square where its mask is set. */
export async function writeRgb(path: string, bg: number, defect = false, format?: 'png' | 'jpeg'): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const raw = Buffer.alloc(SIDE * SIDE * 3, bg);
  if (defect) for (let y = 8; y < 16; y++) for (let x = 8; x < 16; x++) raw.fill(250, (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
  const img = sharp(raw, { raw: { width: SIDE, height: SIDE, channels: 3 } });
  const fmt = format ?? (/\.jpe?g$/i.test(path) ? 'jpeg' : 'png');
  await writeFile(path, fmt === 'jpeg' ? await img.jpeg({ quality: 100 }).toBuffer() : await img.png().toBuffer());
}

export async function writeDefectMask(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const px = Buffer.alloc(SIDE * SIDE);
  for (let y = 8; y < 16; y++) px.fill(255, y * SIDE + 8, y * SIDE + 16);
  await writeFile(path, await sharp(px, { raw: { width: SIDE, height: SIDE, channels: 1 } }).toColourspace('b-w').png().toBuffer());
}

/**
 * `<root>/<category>/{train/good/000..003.png, test/good/000..001.png, test/crack/000..00n.png,
 * ground_truth/crack/*_mask.png}`: anomalous images have a bright square, as their masks say.
 */
export async function writeTinyMvtec(root: string, category = 'widget', opts: { anomalous?: number; normal?: number } = {}): Promise<string> {
  const cat = join(root, category);
  for (let i = 0; i < 4; i++) await writeRgb(join(cat, 'train', 'good', `00${i}.png`), 90 + i);
  for (let i = 0; i < (opts.normal ?? 2); i++) await writeRgb(join(cat, 'test', 'good', `00${i}.png`), 92 + i);
  for (let i = 0; i < (opts.anomalous ?? 3); i++) {
    await writeRgb(join(cat, 'test', 'crack', `00${i}.png`), 95 + i, true);
    await writeDefectMask(join(cat, 'ground_truth', 'crack', `00${i}_mask.png`));
  }
  return cat;
}

/** Every file of a run directory but timing.json (its times differ run to run), as base64 bytes. */
export async function runDirFiles(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await readdir(root, { recursive: true })) {
    const p = join(root, String(f));
    if ((await stat(p)).isFile() && !String(f).endsWith('timing.json')) out.set(String(f), (await readFile(p)).toString('base64'));
  }
  return out;
}
