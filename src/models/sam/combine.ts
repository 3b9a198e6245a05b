/** Combining several prompts' masks of one image. */
import { sigmoid } from '../../util/numeric.js';
import type { SamMaskResult } from './model.js';

/** Per-pixel largest logit over the results (-Infinity where there are none). */
export function maxLogit(results: SamMaskResult[], width: number, height: number): Float32Array {
  const out = new Float32Array(width * height).fill(-Infinity);
  for (const r of results) {
    if (r.logits.length !== out.length) throw new Error(`maxLogit: a ${r.width}x${r.height} result for a ${width}x${height} image`);
    for (let i = 0; i < out.length; i++) if (r.logits[i] > out[i]) out[i] = r.logits[i];
  }
  return out;
}

/**
 * Per-pixel probability that some prompt's mask covers the pixel: sigmoid of the largest logit
 * over the prompts (0 everywhere when there are none). Thresholding it at 0.5 gives the union.
 */
export function maxProbability(results: SamMaskResult[], width: number, height: number): Float32Array {
  if (results.length === 0) return new Float32Array(width * height);
  const out = maxLogit(results, width, height);
  for (let i = 0; i < out.length; i++) out[i] = sigmoid(out[i]);
  return out;
}
