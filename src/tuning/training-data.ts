/**
 * Training samples from datasets on disk: every anomalous image with a mask, and with
 * `tune.synthetic` every normal image with defects of src/synth pasted on it; one sample per
 * ground-truth component (its prompt from component-prompts.ts, its pixels as the target).
 * Embeddings come from the frozen encoder through the SAM model's content cache, so an image is
 * encoded once across epochs and runs. Everything that fails on bad input fails in
 * `collectTrainingItems`, before any image is encoded.
 */
import { basename, resolve } from 'node:path';
import { labelComponents, type Component } from '../image/connected-components.js';
import { loadImage, loadMask, toRgb } from '../image/io.js';
import { loadDataset } from '../datasets/index.js';
import type { DecoderWeights } from '../models/sam/decoder-weights.js';
import type { SamModel } from '../models/sam/model.js';
import { encodePrompt } from '../models/sam/transforms.js';
import { imageFileHash } from '../models/sam/seen-data.js';
import { UserError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { mulberry32 } from '../util/random.js';
import type { RgbImage } from '../image/types.js';
import { pasteDefects, PASTE_GENERATOR } from '../synth/paste.js';
import { deriveSeed } from '../synth/rng.js';
import { componentPrompt, type TrainPromptKind } from './component-prompts.js';
import { pickImages, type Sampling } from './spread-sample.js';
import { embeddingTokens, sparseEmbedding, toPhaseOrder } from './prompt-embedding.js';
import type { TrainSample } from './train-step.js';

const LOW = 256;
/** Components smaller than this (pixels at full resolution) are annotation specks, not prompts. */
const MIN_AREA = 16;

export interface TrainingItem {
  dataset: string;
  imagePath: string;
  /** The ground-truth mask file; absent for a synthetic item, whose mask is drawn. */
  maskPath?: string;
  /** Defects pasted on this normal image, drawn again from (count, seed) on every visit. */
  synthetic?: { count: number; seed: number };
  width: number;
  height: number;
  component: Component;
}

export interface TrainingData {
  items: TrainingItem[];
  /** What the provenance records per dataset (`synthetic_images`: normal images with pasted defects). */
  data: Array<{ name: string; root: string; sha256: string; images: number; synthetic_images?: number }>;
  /** sha256 of every anomalous training image file, sorted: what an evaluation checks it is not scoring (models/sam/seen-data.ts). */
  imageHashes: string[];
  /** With tune.synthetic: the generator, and the sha256 of every normal image it pasted onto, sorted. */
  synthetic?: { generator: string; seed: number; count: number; images: number; normal_images_sha256: string[] };
  /** With maxImages: how the images were picked (the provenance records it; the picked images are in `data`'s hashes). */
  sampling?: { kind: Sampling; max_images: number; seed: number };
}

export interface CollectOptions {
  maxImages?: number;
  /** How maxImages images are picked of a listing: its first ones, or spread over categories and defect types (spread-sample.ts; seeded by `seed`). */
  sampling?: Sampling;
  /** Defects per normal image (0: normal images are not used). */
  synthetic?: number;
  seed?: number;
}

/** The name a dataset directory goes by (for --holdout and the provenance): its folder name. */
export const datasetName = (root: string): string => basename(resolve(root));

export async function collectTrainingItems(roots: string[], holdout: string[], opts: CollectOptions = {}): Promise<TrainingData> {
  if (roots.length === 0) throw new UserError('tune: give at least one training dataset (--data <dir>)');
  const unknown = holdout.filter((h) => !roots.some((r) => datasetName(r) === h));
  if (unknown.length) throw new UserError(`tune: --holdout ${unknown.join(', ')} names no --data directory (${roots.map(datasetName).join(', ')})`);
  const { maxImages } = opts;
  const synthetic = opts.synthetic ?? 0;
  const seed = opts.seed ?? 0;
  const sampling = opts.sampling ?? 'first';
  const pick = <T extends { category: string; defectType: string; relId: string }>(list: T[]): T[] =>
    pickImages(list.map((s) => ({ ...s, key: `${s.category}/${s.relId}` })), maxImages, sampling, seed);
  const items: TrainingItem[] = [];
  const data: TrainingData['data'] = [];
  const imageHashes = new Set<string>();
  const normalHashes = new Set<string>();
  let normalsSeen = 0;
  for (const root of roots) {
    const name = datasetName(root);
    if (holdout.includes(name)) continue;
    const index = await loadDataset(root);
    let samples = index.samples.filter((s) => s.label === 'anomalous' && s.maskPath);
    samples = pick(samples);
    const ids: string[] = [];
    for (const s of samples) {
      const mask = await loadMask(s.maskPath!);
      const { components } = labelComponents(mask.data, mask.width, mask.height);
      for (const c of components.filter((c) => c.area >= MIN_AREA)) {
        items.push({ dataset: name, imagePath: s.imagePath, maskPath: s.maskPath!, width: mask.width, height: mask.height, component: c });
      }
      ids.push(`${s.category}/${s.relId}:${sha256(mask.data)}`);
      imageHashes.add(await imageFileHash(s.imagePath));
    }
    let normals = trainingNormals(index.samples);
    normalsSeen += normals.length;
    let pasted = 0;
    if (synthetic > 0) {
      normals = pick(normals);
      for (const s of normals) {
        const hash = await imageFileHash(s.imagePath);
        const item = { dataset: name, imagePath: s.imagePath, synthetic: { count: synthetic, seed: deriveSeed(seed, hash) } };
        const { mask, width, height } = await itemPixels(item, false);
        const { components } = labelComponents(mask, width, height);
        for (const c of components.filter((c) => c.area >= MIN_AREA)) items.push({ ...item, width, height, component: c });
        ids.push(`${s.category}/${s.relId}:synthetic`);
        normalHashes.add(hash);
        pasted++;
      }
    }
    data.push({ name, root: resolve(root), sha256: sha256(ids.sort().join('\n')), images: samples.length, ...(synthetic > 0 ? { synthetic_images: pasted } : {}) });
  }
  if (items.length === 0) {
    const where = roots.filter((r) => !holdout.includes(datasetName(r))).join(', ');
    const hint = synthetic === 0 && normalsSeen > 0 ? ` (it has ${normalsSeen} normal training image(s): --set tune.synthetic=<n> pastes n synthetic defects on each and trains on those)` : '';
    throw new UserError(`tune: no anomalous image with a ground-truth mask in ${where}${hint}: tuning needs masks to learn from`);
  }
  return {
    items,
    data,
    imageHashes: [...imageHashes].sort(),
    ...(synthetic > 0 ? { synthetic: { generator: PASTE_GENERATOR, seed, count: synthetic, images: normalHashes.size, normal_images_sha256: [...normalHashes].sort() } } : {}),
    ...(maxImages !== undefined ? { sampling: { kind: sampling, max_images: maxImages, seed } } : {}),
  };
}

/** The normal images defects are pasted on: the train split's when the dataset has any, else every normal image. */
function trainingNormals<T extends { label: string; split: string }>(samples: T[]): T[] {
  const normals = samples.filter((s) => s.label === 'normal');
  const train = normals.filter((s) => s.split === 'train');
  return train.length ? train : normals;
}

/** An item's mask (0/1) and, when asked or synthetic (the defects are painted on it), its image. */
async function itemPixels(item: Pick<TrainingItem, 'imagePath' | 'maskPath' | 'synthetic'>, withImage: boolean): Promise<{ mask: Uint8Array; width: number; height: number; image?: RgbImage }> {
  if (item.synthetic) {
    const p = pasteDefects(toRgb(await loadImage(item.imagePath)), item.synthetic.count, item.synthetic.seed);
    return { mask: p.mask, width: p.image.width, height: p.image.height, image: p.image };
  }
  const mask = await loadMask(item.maskPath!);
  return { mask: mask.data, width: mask.width, height: mask.height, image: withImage ? toRgb(await loadImage(item.imagePath)) : undefined };
}

/** The component's pixels (every component's for 'any') on SAM's 256x256 low-res frame (long side 1024, padded bottom-right). */
export function lowResTarget(labels: Int32Array, width: number, height: number, label: number | 'any'): Float32Array {
  const scale = LOW / Math.max(width, height);
  const plane = new Float32Array(LOW * LOW);
  for (let y = 0; y < LOW; y++) {
    const sy = Math.floor((y + 0.5) / scale);
    if (sy >= height) break;
    for (let x = 0; x < LOW; x++) {
      const sx = Math.floor((x + 0.5) / scale);
      if (sx >= width) break;
      const l = labels[sy * width + sx];
      if (label === 'any' ? l > 0 : l === label) plane[y * LOW + x] = 1;
    }
  }
  return plane;
}

/**
 * Builds sample i of an epoch; keeps the last images' embeddings and labels in memory. With
 * `wholeImage` the target is every component of the item's image (for prompt-free training, one
 * item per image).
 */
export function sampleSource(
  items: TrainingItem[],
  sam: SamModel,
  weights: DecoderWeights,
  opts: { seed: number; jitter: number; prompts?: TrainPromptKind; points?: number; memoryImages?: number; wholeImage?: boolean },
): (index: number, epoch: number) => Promise<TrainSample> {
  const memory = new Map<string, { tokens: Float32Array; labels: Int32Array }>();
  const keep = opts.memoryImages ?? 32;
  return async (index, epoch) => {
    const item = items[index];
    const key = item.synthetic ? `${item.imagePath}\0synthetic` : item.imagePath;
    let kept = memory.get(key);
    if (!kept) {
      const px = await itemPixels(item, true);
      const embedding = await sam.encode(px.image!);
      kept = { tokens: embeddingTokens(embedding.data), labels: labelComponents(px.mask, px.width, px.height).labels };
      memory.set(key, kept);
      if (memory.size > keep) memory.delete(memory.keys().next().value!);
    }
    const { tokens, labels } = kept;
    const random = mulberry32((opts.seed * 2654435761 + epoch * 40503 + index * 97 + 1) >>> 0);
    const prompt = componentPrompt(item.component, labels, item.width, { kind: opts.prompts ?? 'box', jitter: opts.jitter, points: opts.points ?? 1 }, random);
    const p = encodePrompt(prompt, item.width, item.height);
    return {
      tokens,
      sparse: sparseEmbedding(weights, p.coords, p.labels),
      numPoints: p.count,
      target: toPhaseOrder(lowResTarget(labels, item.width, item.height, opts.wholeImage ? 'any' : item.component.label)),
    };
  };
}

/** One item per image (its first component's), for training whose target is the whole image's mask. */
export function onePerImage(items: TrainingItem[]): TrainingItem[] {
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(i.imagePath) && (seen.add(i.imagePath), true));
}
