/**
 * The SAM segmentation stage: the last stage of every preset. Given an image and prompts
 * (boxes from detection, box + points from an anomaly map, ground-truth regions in the oracle
 * study), it returns one SAM mask per prompt and their combinations. The model adapter lives in
 * src/sam/; this file holds what presets share on top of it.
 */
import { maxLogit } from './combine.js';
import type { SamMaskResult, SamModel } from './model.js';
import type { RgbLike } from './preprocess.js';
import { clampBox, type Box, type SamPrompt } from './transforms.js';
import { unionMask as unionOfMasks } from '../../image/masks.js';

export { SamModel, hashRgb, sigmoid, type SamEmbedding, type SamMaskResult, type SamLoadOptions } from './model.js';
export { maxLogit } from './combine.js';
export { defaultSamEntry, type SamModelEntry } from './model-entry.js';
export type { Box, Point, SamPrompt } from './transforms.js';

/** One mask per box (single-mask output), boxes clamped to the image, as in the IAP-AS reference. */
export async function segmentBoxes(sam: SamModel, image: RgbLike, boxes: Box[]): Promise<SamMaskResult[]> {
  if (boxes.length === 0) return [];
  const embedding = await sam.encode(image);
  return sam.decode(embedding, boxes.map((b) => ({ box: clampBox(b, image.width, image.height) })));
}

/** Decodes arbitrary prompts for one image (encoding it once). */
export async function segmentPrompts(sam: SamModel, image: RgbLike, prompts: SamPrompt[]): Promise<SamMaskResult[]> {
  if (prompts.length === 0) return [];
  return sam.decode(await sam.encode(image), prompts);
}

/** Union of binary masks (0/1); all zero when there are none. */
export function unionMask(results: SamMaskResult[], width: number, height: number): Uint8Array {
  return unionOfMasks(results.map((r) => r.mask), width * height);
}

/**
 * Per-pixel probability that some prompt's mask covers the pixel: sigmoid of the largest logit
 * over the prompts (0 everywhere when there are none). Thresholding it at 0.5 gives unionMask.
 */
export function maxProbability(results: SamMaskResult[], width: number, height: number): Float32Array {
  if (results.length === 0) return new Float32Array(width * height);
  const out = maxLogit(results, width, height);
  for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-out[i]));
  return out;
}
