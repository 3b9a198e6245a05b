import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { defaultSamEntry } from '../../src/models/sam/model-entry.js';

export const samBytes = (): Uint8Array => new Uint8Array(readFileSync(defaultSamEntry().decoderPath));

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
}

/** A smooth random embedding: noise plus a blob, so the decoder's masks are not trivial. */
export function fakeEmbedding(seed: number): Float32Array {
  const r = rng(seed);
  const e = new Float32Array(256 * 64 * 64);
  for (let c = 0; c < 256; c++) {
    const w = r() * 2;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const blob = Math.exp(-((x - 30) ** 2 + (y - 25) ** 2) / 120);
        e[(c * 64 + y) * 64 + x] = r() * 0.3 + w * blob;
      }
    }
  }
  return e;
}

export interface OrtPrompt {
  coords: Float32Array;
  labels: Float32Array;
  mask?: Float32Array;
}

export async function ortDecode(model: Uint8Array, embedding: Float32Array, p: OrtPrompt): Promise<{ lowRes: Float32Array; iou: number }> {
  const s = await ort.InferenceSession.create(model);
  const n = p.labels.length;
  const out = await s.run({
    image_embeddings: new ort.Tensor('float32', embedding, [1, 256, 64, 64]),
    point_coords: new ort.Tensor('float32', p.coords, [1, n, 2]),
    point_labels: new ort.Tensor('float32', p.labels, [1, n]),
    mask_input: new ort.Tensor('float32', p.mask ?? new Float32Array(256 * 256), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', new Float32Array([p.mask ? 1 : 0]), [1]),
    orig_im_size: new ort.Tensor('float32', new Float32Array([1024, 1024]), [2]),
  });
  await s.release();
  return { lowRes: (out.low_res_masks.data as Float32Array).slice(), iou: (out.iou_predictions.data as Float32Array)[0] };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
