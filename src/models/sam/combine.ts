/** Combining several prompts' masks of one image. */
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

