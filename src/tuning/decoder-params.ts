/**
 * SAM's decoder weights (by module name, from sam.onnx) rearranged for the jax-js forward, as
 * pure functions on typed arrays. Every linear weight is kept [in, out] so a layer is one
 * matmul; the stride-2 convolutions and transposed convolutions become matmuls over 2x2 phases
 * (jax-js's convTranspose is ~17 s a call here, a matmul of the same size a few milliseconds).
 */
import type { DecoderWeights } from '../models/sam/decoder-weights.js';
import { UserError } from '../util/errors.js';
import { densePositionalEncoding } from './prompt-embedding.js';

/** Name -> values and shape: what becomes the frozen jax-js parameter tree. */
export type FrozenArrays = Record<string, { data: Float32Array; shape: number[] }>;

export const TRANSFORMER_DEPTH = 2;
export const ATTENTIONS = ['self_attn', 'cross_attn_token_to_image', 'cross_attn_image_to_token'] as const;
export const MLP_HEADS = ['output_hypernetworks_mlps.0', 'output_hypernetworks_mlps.1', 'output_hypernetworks_mlps.2', 'output_hypernetworks_mlps.3', 'iou_prediction_head'];

function get(w: DecoderWeights, name: string): { data: Float32Array; dims: number[] } {
  const t = w.byModule.get(name);
  if (!t) throw new UserError(`SAM decoder: no weight for ${name}; the file is not segment-anything's SamOnnxModel decoder export (the contract of sam.onnx)`);
  return t;
}

/** A [rows, cols] row-major matrix transposed. */
function transpose2(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** ConvTranspose2d k=2 s=2 weight [in, out, 2, 2] as a matmul [in, (phase, out)], phase = dy*2+dx. */
export function transposedConvMatrix(w: Float32Array, cin: number, cout: number): Float32Array {
  const out = new Float32Array(cin * 4 * cout);
  for (let c = 0; c < cin; c++) {
    for (let o = 0; o < cout; o++) {
      for (let p = 0; p < 4; p++) out[c * 4 * cout + p * cout + o] = w[((c * cout + o) * 4) + p];
    }
  }
  return out;
}

/** Conv2d k=2 s=2 weight [out, in, 2, 2] as a matmul [(phase, in), out] over a patch in phase order. */
export function patchConvMatrix(w: Float32Array, cout: number, cin: number): Float32Array {
  const out = new Float32Array(4 * cin * cout);
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      for (let p = 0; p < 4; p++) out[(p * cin + c) * cout + o] = w[(o * cin + c) * 4 + p];
    }
  }
  return out;
}

/** Every frozen tensor of the decoder and the mask prompt path, in the forward's layouts. */
export function frozenArrays(w: DecoderWeights): FrozenArrays {
  const out: FrozenArrays = {};
  const put = (name: string, data: Float32Array, shape: number[]): void => {
    out[name] = { data, shape };
  };
  const md = 'mask_decoder';
  const linears = [...w.byModule.keys()].filter((k) => k.startsWith(`${md}.transformer.`) && k.endsWith('.weight_t'));
  for (const k of linears) {
    const m = k.replace(/\.weight_t$/, '');
    const t = get(w, k);
    put(`${m}.weight_t`, t.data, t.dims);
    put(`${m}.bias`, get(w, `${m}.bias`).data, [t.dims[1]]);
  }
  for (const k of [...w.byModule.keys()].filter((k) => k.startsWith(`${md}.transformer.`) && /norm\w*\.(weight|bias)$/.test(k))) {
    put(k, get(w, k).data, [get(w, k).data.length]);
  }
  for (const head of MLP_HEADS) {
    for (const l of [0, 1, 2]) {
      const m = `${md}.${head}.layers.${l}`;
      const t = get(w, `${m}.weight`); // Gemm: [out, in]
      const [o, i] = t.dims;
      put(`${m}.weight_t`, transpose2(t.data, o, i), [i, o]);
      put(`${m}.bias`, get(w, `${m}.bias`).data, [o]);
    }
  }
  put(`${md}.output_tokens`, get(w, `${md}.output_tokens`).data, [5, 256]);
  put(`${md}.output_upscaling.0.weight_m`, transposedConvMatrix(get(w, `${md}.output_upscaling.0.weight`).data, 256, 64), [256, 256]);
  put(`${md}.output_upscaling.0.bias`, get(w, `${md}.output_upscaling.0.bias`).data, [64]);
  put(`${md}.output_upscaling.1.weight`, get(w, `${md}.output_upscaling.1.weight`).data, [64]);
  put(`${md}.output_upscaling.1.bias`, get(w, `${md}.output_upscaling.1.bias`).data, [64]);
  put(`${md}.output_upscaling.3.weight_m`, transposedConvMatrix(get(w, `${md}.output_upscaling.3.weight`).data, 64, 32), [64, 128]);
  put(`${md}.output_upscaling.3.bias`, get(w, `${md}.output_upscaling.3.bias`).data, [32]);

  const pe = 'model.prompt_encoder';
  put(`${pe}.mask_downscaling.0.weight_m`, patchConvMatrix(get(w, `${pe}.mask_downscaling.0.weight`).data, 4, 1), [4, 4]);
  put(`${pe}.mask_downscaling.0.bias`, get(w, `${pe}.mask_downscaling.0.bias`).data, [4]);
  put(`${pe}.mask_downscaling.3.weight_m`, patchConvMatrix(get(w, `${pe}.mask_downscaling.3.weight`).data, 16, 4), [16, 16]);
  put(`${pe}.mask_downscaling.3.bias`, get(w, `${pe}.mask_downscaling.3.bias`).data, [16]);
  put(`${pe}.mask_downscaling.6.weight_m`, transpose2(get(w, `${pe}.mask_downscaling.6.weight`).data, 256, 16), [16, 256]);
  put(`${pe}.mask_downscaling.6.bias`, get(w, `${pe}.mask_downscaling.6.bias`).data, [256]);
  for (const i of [1, 4]) {
    for (const p of ['weight', 'bias']) put(`${pe}.mask_downscaling.${i}.${p}`, get(w, `${pe}.mask_downscaling.${i}.${p}`).data, [i === 1 ? 4 : 16]);
  }
  put(`${pe}.no_mask_embed.weight`, get(w, `${pe}.no_mask_embed.weight`).data, [1, 256]);
  put(`${pe}.dense_pe`, densePositionalEncoding(w), [4096, 256]);
  return out;
}
