import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { mergeLora, readDecoderWeights, replaceInitializers } from '../../../src/models/sam/decoder-weights.js';
import { defaultSamEntry } from '../../../src/models/sam/model-entry.js';

const bytes = new Uint8Array(readFileSync(defaultSamEntry().decoderPath));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
}

async function lowRes(model: Uint8Array, embedding: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({
    image_embeddings: new ort.Tensor('float32', embedding, [1, 256, 64, 64]),
    point_coords: new ort.Tensor('float32', new Float32Array([200, 220, 600, 640]), [1, 2, 2]),
    point_labels: new ort.Tensor('float32', new Float32Array([2, 3]), [1, 2]),
    mask_input: new ort.Tensor('float32', new Float32Array(256 * 256), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', new Float32Array([0]), [1]),
    orig_im_size: new ort.Tensor('float32', new Float32Array([1024, 1024]), [2]),
  });
  await s.release();
  return out.low_res_masks.data as Float32Array;
}

describe('SAM decoder weights by module', () => {
  const w = readDecoderWeights(bytes);

  it('maps every attention and MLP weight of the two-way transformer to its module, with its bias', () => {
    const linear = [...w.byModule.keys()].filter((k) => k.startsWith('mask_decoder.transformer.') && k.endsWith('.weight_t'));
    // 2 layers x (3 attentions x 4 projections + 2 MLP layers) + the final attention's 4.
    expect(linear).toHaveLength(2 * (3 * 4 + 2) + 4);
    expect(w.byModule.get('mask_decoder.transformer.layers.0.self_attn.q_proj.weight_t')!.dims).toEqual([256, 256]);
    expect(w.byModule.get('mask_decoder.transformer.layers.1.cross_attn_token_to_image.v_proj.weight_t')!.dims).toEqual([256, 128]);
    for (const k of linear) {
      const bias = w.byModule.get(k.replace(/\.weight_t$/, '.bias'));
      expect(bias, k).toBeDefined();
      expect(bias!.data.length).toBe(w.byModule.get(k)!.dims[1]);
      expect(w.byModule.get(k)!.initializer).toMatch(/^onnx::MatMul_/);
    }
  });

  it('names the anonymous norm, no-mask and output-token initializers after the nodes that read them', () => {
    const dims = (k: string) => w.byModule.get(k)?.dims;
    expect(dims('model.prompt_encoder.mask_downscaling.1.weight')).toEqual([4, 1, 1]);
    expect(dims('model.prompt_encoder.mask_downscaling.4.bias')).toEqual([16, 1, 1]);
    expect(dims('mask_decoder.output_upscaling.1.weight')).toEqual([64, 1, 1]);
    expect(dims('model.prompt_encoder.no_mask_embed.weight')).toEqual([1, 256, 1, 1]);
    expect(dims('mask_decoder.output_tokens')).toEqual([1, 5, 256]);
    expect(w.byModule.get('mask_decoder.output_tokens')!.initializer).toMatch(/^onnx::/);
  });

  it('merges a LoRA delta as W_t + (alpha/rank) (A B)^T', () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]); // out 3 x rank 2
    const b = new Float32Array([1, 0, 0, 1]); // rank 2 x in 2
    const merged = mergeLora(new Float32Array(6), [2, 3], a, b, 2, 4);
    // (A B)[o][i] = a[o][i]; W_t[i][o] = 2 * a[o][i]
    expect(Array.from(merged)).toEqual([2, 6, 10, 4, 8, 12]);
    expect(() => mergeLora(new Float32Array(6), [2, 3], a, new Float32Array(3), 2, 4)).toThrow(/B 2x2/);
  });

  it('a copy with merged q/v weights keeps the contract: a zero delta changes nothing, a real one changes the masks', async () => {
    const r = rng(7);
    const embedding = Float32Array.from({ length: 256 * 64 * 64 }, () => r() * 0.5);
    const q = w.byModule.get('mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight_t')!;
    const rank = 4;
    const a = Float32Array.from({ length: q.dims[1] * rank }, () => r());
    const zeroB = new Float32Array(rank * q.dims[0]);
    const b = Float32Array.from({ length: rank * q.dims[0] }, () => r());
    const base = await lowRes(bytes, embedding);
    const same = await lowRes(replaceInitializers(bytes, new Map([[q.initializer, mergeLora(q.data, q.dims, a, zeroB, rank, 8)]])), embedding);
    const tuned = await lowRes(replaceInitializers(bytes, new Map([[q.initializer, mergeLora(q.data, q.dims, a, b, rank, 8)]])), embedding);
    let maxSame = 0;
    let maxTuned = 0;
    for (let i = 0; i < base.length; i++) {
      maxSame = Math.max(maxSame, Math.abs(same[i] - base[i]));
      maxTuned = Math.max(maxTuned, Math.abs(tuned[i] - base[i]));
    }
    expect(maxSame).toBe(0);
    expect(maxTuned).toBeGreaterThan(1e-2);
  }, 60_000);

  it('refuses a file that is not ONNX and a replacement of the wrong size', () => {
    expect(() => readDecoderWeights(new Uint8Array([1, 2, 3, 4, 5]))).toThrow(/not an ONNX model|no graph/);
    const q = w.byModule.get('mask_decoder.transformer.layers.0.self_attn.q_proj.weight_t')!;
    expect(() => replaceInitializers(bytes, new Map([[q.initializer, new Float32Array(3)]]))).toThrow(/holds 65536 values/);
    expect(() => replaceInitializers(bytes, new Map([['onnx::Nope', new Float32Array(3)]]))).toThrow(/no initializer named onnx::Nope/);
  });
});
