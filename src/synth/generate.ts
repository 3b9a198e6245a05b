/**
 * Seeded synthetic anomaly dataset in the MVTec AD layout:
 *   <root>/<category>/train/good/000.png
 *   <root>/<category>/test/good/000.png
 *   <root>/<category>/test/<defect>/000.png
 *   <root>/<category>/ground_truth/<defect>/000_mask.png   (0/255)
 * Same seed and options -> byte-identical files (pure JS rendering from a seeded PRNG, PNGs
 * encoded with fixed settings).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { savePng } from '../image/io.js';
import { DEFECT_KINDS, drawDefect, type DefectKind } from './defects.js';
import { deriveSeed, mulberry32 } from './rng.js';
import { renderScene, SCENE_KINDS, type SceneKind } from './scenes.js';

export interface SynthCounts {
  /** Normal training images (train/good). */
  train: number;
  /** Normal test images (test/good). */
  testGood: number;
  /** Anomalous test images, spread round-robin over the defect kinds. */
  anomalous: number;
}

export interface SynthOptions {
  seed?: number;
  /** Scene kinds to use as categories (default weave, brushed, disc). */
  categories?: SceneKind[];
  /** Square image side in pixels (default 256). */
  size?: number;
  counts?: Partial<SynthCounts>;
  defects?: DefectKind[];
}

export const DEFAULT_SYNTH: Required<Omit<SynthOptions, 'counts'>> & { counts: SynthCounts } = {
  seed: 0,
  categories: ['weave', 'brushed', 'disc'],
  size: 256,
  counts: { train: 6, testGood: 4, anomalous: 8 },
  defects: [...DEFECT_KINDS],
};

export interface SynthSample {
  width: number;
  height: number;
  /** Interleaved RGB, 8 bit. */
  image: Uint8Array;
  /** The same scene before the defect was drawn. */
  clean: Uint8Array;
  /** 0/1 ground truth; all zero for normal samples. */
  mask: Uint8Array;
  defect: DefectKind | 'good';
}

function toBytes(rgb: Float32Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, rgb[i])) * 255);
  return out;
}

/** Renders one sample deterministically from (seed, category, slot). */
export function renderSample(category: SceneKind, seed: number, slot: string, size: number, defect: DefectKind | 'good'): SynthSample {
  if (!SCENE_KINDS.includes(category)) throw new Error(`unknown synthetic category '${category}' (known: ${SCENE_KINDS.join(', ')})`);
  const rng = mulberry32(deriveSeed(seed, category, slot));
  const scene = renderScene(category, rng, size);
  const clean = toBytes(scene.rgb);
  const mask = defect === 'good' ? new Uint8Array(size * size) : drawDefect(defect, rng, scene);
  return { width: size, height: size, image: defect === 'good' ? clean : toBytes(scene.rgb), clean, mask, defect };
}

export interface SynthResult {
  root: string;
  categories: string[];
  files: string[];
}

export async function generateSyntheticDataset(root: string, opts: SynthOptions = {}): Promise<SynthResult> {
  const seed = opts.seed ?? DEFAULT_SYNTH.seed;
  const categories = opts.categories ?? DEFAULT_SYNTH.categories;
  const size = opts.size ?? DEFAULT_SYNTH.size;
  const counts = { ...DEFAULT_SYNTH.counts, ...opts.counts };
  const defects = opts.defects ?? DEFAULT_SYNTH.defects;
  if (!Number.isInteger(size) || size < 32) throw new Error(`synthetic dataset: size must be an integer >= 32, got ${size}`);
  const files: string[] = [];
  const name = (i: number) => String(i).padStart(3, '0');
  const write = async (path: string, s: { width: number; height: number; data: Uint8Array }, mask = false) => {
    await savePng(path, s, { mask });
    files.push(path);
  };
  for (const category of categories) {
    const dir = join(root, category);
    await mkdir(join(dir, 'train', 'good'), { recursive: true });
    await mkdir(join(dir, 'test', 'good'), { recursive: true });
    for (let i = 0; i < counts.train; i++) {
      const s = renderSample(category, seed, `train/good/${i}`, size, 'good');
      await write(join(dir, 'train', 'good', `${name(i)}.png`), { width: size, height: size, data: s.image });
    }
    for (let i = 0; i < counts.testGood; i++) {
      const s = renderSample(category, seed, `test/good/${i}`, size, 'good');
      await write(join(dir, 'test', 'good', `${name(i)}.png`), { width: size, height: size, data: s.image });
    }
    const perDefect = new Map<DefectKind, number>();
    for (let i = 0; i < counts.anomalous; i++) {
      const defect = defects[i % defects.length];
      const j = perDefect.get(defect) ?? 0;
      perDefect.set(defect, j + 1);
      if (j === 0) {
        await mkdir(join(dir, 'test', defect), { recursive: true });
        await mkdir(join(dir, 'ground_truth', defect), { recursive: true });
      }
      const s = renderSample(category, seed, `test/${defect}/${j}`, size, defect);
      await write(join(dir, 'test', defect, `${name(j)}.png`), { width: size, height: size, data: s.image });
      await write(join(dir, 'ground_truth', defect, `${name(j)}_mask.png`), { width: size, height: size, data: s.mask }, true);
    }
  }
  return { root, categories: [...categories], files };
}
