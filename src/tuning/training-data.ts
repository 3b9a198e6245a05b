/**
 * Training samples from datasets on disk: every anomalous image with a mask, one sample per
 * ground-truth component (its box as the prompt, with seeded jitter, its pixels as the target).
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
import { embeddingTokens, sparseEmbedding, toPhaseOrder } from './prompt-embedding.js';
import type { TrainSample } from './train-step.js';

const LOW = 256;
/** Components smaller than this (pixels at full resolution) are annotation specks, not prompts. */
const MIN_AREA = 16;

export interface TrainingItem {
  dataset: string;
  imagePath: string;
  maskPath: string;
  width: number;
  height: number;
  component: Component;
}

export interface TrainingData {
  items: TrainingItem[];
  /** What the provenance records per dataset. */
  data: Array<{ name: string; root: string; sha256: string; images: number }>;
  /** sha256 of every training image file, sorted: what an evaluation checks it is not scoring (models/sam/seen-data.ts). */
  imageHashes: string[];
}

/** The name a dataset directory goes by (for --holdout and the provenance): its folder name. */
export const datasetName = (root: string): string => basename(resolve(root));

export async function collectTrainingItems(roots: string[], holdout: string[], maxImages?: number): Promise<TrainingData> {
  if (roots.length === 0) throw new UserError('tune: give at least one training dataset (--data <dir>)');
  const unknown = holdout.filter((h) => !roots.some((r) => datasetName(r) === h));
  if (unknown.length) throw new UserError(`tune: --holdout ${unknown.join(', ')} names no --data directory (${roots.map(datasetName).join(', ')})`);
  const items: TrainingItem[] = [];
  const data: TrainingData['data'] = [];
  const imageHashes = new Set<string>();
  for (const root of roots) {
    const name = datasetName(root);
    if (holdout.includes(name)) continue;
    const index = await loadDataset(root);
    let samples = index.samples.filter((s) => s.label === 'anomalous' && s.maskPath);
    if (maxImages !== undefined) samples = samples.slice(0, maxImages);
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
    data.push({ name, root: resolve(root), sha256: sha256(ids.sort().join('\n')), images: samples.length });
  }
  if (items.length === 0) {
    throw new UserError(`tune: no anomalous image with a ground-truth mask in ${roots.filter((r) => !holdout.includes(datasetName(r))).join(', ')}: tuning needs masks to learn from`);
  }
  return { items, data, imageHashes: [...imageHashes].sort() };
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

/** The component's box [x0, y0, x1, y1) with each side moved by up to `jitter` of the box size. */
export function jitteredBox(c: Component, jitter: number, random: () => number): [number, number, number, number] {
  const w = c.x1 - c.x0 + 1;
  const h = c.y1 - c.y0 + 1;
  const j = (size: number) => (2 * random() - 1) * jitter * size;
  return [c.x0 + j(w), c.y0 + j(h), c.x1 + 1 + j(w), c.y1 + 1 + j(h)];
}

/**
 * Builds sample i of an epoch; keeps the last images' embeddings in memory. With `wholeImage`
 * the target is every component of the item's image (for prompt-free training, one item per image).
 */
export function sampleSource(
  items: TrainingItem[],
  sam: SamModel,
  weights: DecoderWeights,
  opts: { seed: number; jitter: number; memoryImages?: number; wholeImage?: boolean },
): (index: number, epoch: number) => Promise<TrainSample> {
  const memory = new Map<string, Float32Array>();
  const keep = opts.memoryImages ?? 32;
  return async (index, epoch) => {
    const item = items[index];
    let tokens = memory.get(item.imagePath);
    if (!tokens) {
      const embedding = await sam.encode(toRgb(await loadImage(item.imagePath)));
      tokens = embeddingTokens(embedding.data);
      memory.set(item.imagePath, tokens);
      if (memory.size > keep) memory.delete(memory.keys().next().value!);
    }
    const mask = await loadMask(item.maskPath);
    const { labels } = labelComponents(mask.data, mask.width, mask.height);
    const random = mulberry32((opts.seed * 2654435761 + epoch * 40503 + index * 97 + 1) >>> 0);
    const box = jitteredBox(item.component, opts.jitter, random);
    const p = encodePrompt({ box }, item.width, item.height);
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
