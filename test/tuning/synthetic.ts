import { readDecoderWeights, type DecoderWeights } from '../../src/models/sam/decoder-weights.js';
import { encodePrompt } from '../../src/models/sam/transforms.js';
import { embeddingTokens, sparseEmbedding, toPhaseOrder } from '../../src/tuning/prompt-embedding.js';
import type { TrainSample } from '../../src/tuning/train-step.js';
import { fakeEmbedding, samBytes } from './support.js';

let cached: DecoderWeights | undefined;
export const realWeights = (): DecoderWeights => (cached ??= readDecoderWeights(samBytes()));

/** A disk target at low resolution and the box around it, on a smooth random embedding. */
export function syntheticSample(seed: number, cx: number, cy: number, r: number): TrainSample {
  const w = realWeights();
  const plane = new Float32Array(256 * 256);
  for (let y = 0; y < 256; y++) for (let x = 0; x < 256; x++) plane[y * 256 + x] = Math.hypot(x - cx, y - cy) < r ? 1 : 0;
  const box = [(cx - r) * 4, (cy - r) * 4, (cx + r) * 4, (cy + r) * 4] as [number, number, number, number];
  const p = encodePrompt({ box }, 1024, 1024);
  return {
    tokens: embeddingTokens(fakeEmbedding(seed)),
    sparse: sparseEmbedding(w, p.coords, p.labels),
    numPoints: p.count,
    target: toPhaseOrder(plane),
  };
}
