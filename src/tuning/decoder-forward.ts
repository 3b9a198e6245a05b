/**
 * SAM's mask decoder (two-way transformer, upscaling head, hypernetwork MLPs, IoU head) and the
 * mask-prompt path of its prompt encoder, in jax-js, with optional LoRA on any linear layer of
 * the transformer. It reproduces segment-anything's SamOnnxModel (single-mask output) from the
 * export's own weights; tensors are in token order (y*64+x rows) and upsampled pixels in phase
 * order (see prompt-embedding.ts), so the large path needs no transposes.
 *
 * jax-js arrays are reference counted and every function takes ownership of its arguments:
 * parameters are passed as `.ref` at each use so the caller's trees survive a call.
 */
import { lax, nn, numpy as np } from '@jax-js/jax';
import { ATTENTIONS, MLP_HEADS, TRANSFORMER_DEPTH, type FrozenArrays } from './decoder-params.js';

export type Frozen = { [name: string]: np.Array };
/** LoRA on one linear module: y += scale * (x @ down) @ up, down [in, r], up [r, out]. */
export type LoraPair = { down: np.Array; up: np.Array };
export type Lora = { [module: string]: LoraPair };

export interface DecoderInput {
  /** The image embedding in token order [4096, 256]. */
  tokens: np.Array;
  /** The sparse prompt embedding [N, 256]. */
  sparse: np.Array;
  /** Low-res mask prompt logits in phase order [4096, 16], or null for none. */
  mask: np.Array | null;
  /** N, the number of prompt points (box corners included): SamOnnxModel's mask choice depends on it. */
  numPoints: number;
  /** Applied to the image tokens after each transformer block (SPT's relation adapter), if given. */
  afterBlock?: (keys: np.Array, block: number) => np.Array;
}

export interface DecoderOutput {
  /** Low-res logits of all 4 mask tokens, phase order [65536, 4]. */
  masks: np.Array;
  /** Predicted IoU of each token [1, 4]. */
  iou: np.Array;
  /** One-hot [4, 1] of the token SamOnnxModel returns (no gradient through the choice). */
  choice: np.Array;
}

const LN_EPS = 1e-5;
const LN2D_EPS = 1e-6;
const HEADS = 8;

export function toFrozen(arrays: FrozenArrays): Frozen {
  const out: Frozen = {};
  for (const [k, v] of Object.entries(arrays)) out[k] = np.array(v.data).reshape(v.shape);
  return out;
}

export function gelu(x: np.Array): np.Array {
  return x.ref.mul(0.5).mul(lax.erf(x.mul(Math.SQRT1_2)).add(1));
}

function layerNorm(x: np.Array, weight: np.Array, bias: np.Array, eps: number): np.Array {
  const mean = x.ref.mean(-1, { keepdims: true });
  const xc = x.sub(mean);
  const variance = np.square(xc.ref).mean(-1, { keepdims: true });
  return xc.div(np.sqrt(variance.add(eps))).mul(weight).add(bias);
}

class Decoder {
  constructor(
    private readonly f: Frozen,
    private readonly lora: Lora | undefined,
    private readonly scale: number,
  ) {}

  w(name: string): np.Array {
    const a = this.f[name];
    if (!a) throw new Error(`SAM decoder forward: no frozen tensor ${name}`);
    return a.ref;
  }

  linear(x: np.Array, module: string): np.Array {
    const y = np.matmul(x.ref, this.w(`${module}.weight_t`)).add(this.w(`${module}.bias`));
    const l = this.lora?.[module];
    if (!l) {
      x.dispose();
      return y;
    }
    return y.add(np.matmul(np.matmul(x, l.down.ref), l.up.ref).mul(this.scale));
  }

  norm(x: np.Array, module: string, eps = LN_EPS): np.Array {
    return layerNorm(x, this.w(`${module}.weight`), this.w(`${module}.bias`), eps);
  }

  attention(q: np.Array, k: np.Array, v: np.Array, module: string): np.Array {
    const qp = this.linear(q, `${module}.q_proj`);
    const kp = this.linear(k, `${module}.k_proj`);
    const vp = this.linear(v, `${module}.v_proj`);
    const [nq, dim] = qp.shape;
    const nk = kp.shape[0];
    const d = dim / HEADS;
    const qh = qp.reshape([nq, HEADS, d]).transpose([1, 0, 2]);
    const kh = kp.reshape([nk, HEADS, d]).transpose([1, 2, 0]);
    const vh = vp.reshape([nk, HEADS, d]).transpose([1, 0, 2]);
    const attn = nn.softmax(np.matmul(qh, kh).mul(1 / Math.sqrt(d)), -1);
    const o = np.matmul(attn, vh).transpose([1, 0, 2]).reshape([nq, dim]);
    return this.linear(o, `${module}.out_proj`);
  }

  mlp3(x: np.Array, head: string): np.Array {
    const m = `mask_decoder.${head}.layers`;
    const h = nn.relu(this.linear(nn.relu(this.linear(x, `${m}.0`)), `${m}.1`));
    return this.linear(h, `${m}.2`);
  }

  /** The prompt encoder's mask path: [4096, 16] phase-order logits -> [4096, 256]. */
  maskEmbedding(mask: np.Array): np.Array {
    const pe = 'model.prompt_encoder.mask_downscaling';
    const n = mask.shape[0];
    let h = np.matmul(mask.reshape([n * 4, 4]), this.w(`${pe}.0.weight_m`)).add(this.w(`${pe}.0.bias`));
    h = gelu(this.norm(h, `${pe}.1`, LN2D_EPS));
    h = np.matmul(h.reshape([n, 16]), this.w(`${pe}.3.weight_m`)).add(this.w(`${pe}.3.bias`));
    h = gelu(this.norm(h, `${pe}.4`, LN2D_EPS));
    return np.matmul(h, this.w(`${pe}.6.weight_m`)).add(this.w(`${pe}.6.bias`));
  }

  /** The dense prompt (mask path or the no-mask embedding) added to the image tokens [4096, 256]. */
  source(tokens: np.Array, mask: np.Array | null): np.Array {
    const dense = mask ? this.maskEmbedding(mask) : this.w('model.prompt_encoder.no_mask_embed.weight');
    return tokens.add(dense);
  }

  /** The two-way transformer: the only part with LoRA, so the only part a gradient flows through. */
  transformer(src: np.Array, sparse: np.Array, afterBlock?: DecoderInput['afterBlock']): TransformerOutput {
    const md = 'mask_decoder';
    const pos = this.w('model.prompt_encoder.dense_pe');
    const promptTokens = np.concatenate([this.w(`${md}.output_tokens`), sparse], 0);

    let queries = promptTokens.ref;
    let keys = src;
    for (let i = 0; i < TRANSFORMER_DEPTH; i++) {
      const m = `${md}.transformer.layers.${i}`;
      const [self, toImage, toToken] = ATTENTIONS.map((a) => `${m}.${a}`);
      if (i === 0) {
        queries = this.attention(queries.ref, queries.ref, queries, self);
      } else {
        const q = queries.ref.add(promptTokens.ref);
        queries = queries.add(this.attention(q.ref, q, queries.ref, self));
      }
      queries = this.norm(queries, `${m}.norm1`);
      let q = queries.ref.add(promptTokens.ref);
      let k = keys.ref.add(pos.ref);
      queries = this.norm(queries.add(this.attention(q, k, keys.ref, toImage)), `${m}.norm2`);
      const mlp = this.linear(nn.relu(this.linear(queries.ref, `${m}.mlp.lin1`)), `${m}.mlp.lin2`);
      queries = this.norm(queries.add(mlp), `${m}.norm3`);
      q = queries.ref.add(promptTokens.ref);
      k = keys.ref.add(pos.ref);
      keys = this.norm(keys.add(this.attention(k, q, queries.ref, toToken)), `${m}.norm4`);
      if (afterBlock) keys = afterBlock(keys, i);
    }
    const q = queries.ref.add(promptTokens);
    const k = keys.ref.add(pos);
    queries = this.norm(queries.add(this.attention(q, k, keys.ref, `${md}.transformer.final_attn_token_to_image`)), `${md}.transformer.norm_final_attn`);
    return { queries, keys };
  }

  /** The frozen head on the transformer's output: upscaling, hypernetwork MLPs, IoU head, SamOnnxModel's mask choice. */
  head(t: TransformerOutput, numPoints: number): DecoderOutput {
    const md = 'mask_decoder';
    const { queries, keys } = t;
    // Upscaling: two stride-2 transposed convolutions as matmuls, pixels kept in phase order.
    const up = `${md}.output_upscaling`;
    let u = np.matmul(keys, this.w(`${up}.0.weight_m`)).reshape([4096 * 4, 64]).add(this.w(`${up}.0.bias`));
    u = gelu(this.norm(u, `${up}.1`, LN2D_EPS));
    u = gelu(np.matmul(u, this.w(`${up}.3.weight_m`)).reshape([4096 * 16, 32]).add(this.w(`${up}.3.bias`)));

    const hyper = np.concatenate(
      [0, 1, 2, 3].map((t) => this.mlp3(queries.ref.slice([t + 1, t + 2]), MLP_HEADS[t])),
      0,
    ); // [4, 32]
    const masks = np.matmul(u, hyper.transpose([1, 0])); // [65536, 4]
    const iou = this.mlp3(queries.slice([0, 1]), 'iou_prediction_head'); // [1, 4]

    // SamOnnxModel.select_masks: token 0 gets +1000 per point beyond 2.5, so box-only and
    // one-point prompts return the best-scored of tokens 1-3 and richer prompts token 0.
    const reweight = np.array(new Float32Array([(numPoints - 2.5) * 1000, 0, 0, 0])).reshape([1, 4]);
    const best = np.argmax(lax.stopGradient(iou.ref.add(reweight)).reshape([4]), 0);
    const choice = nn.oneHot(best, 4).astype(np.float32).reshape([4, 1]);
    return { masks, iou, choice };
  }

  forward(input: DecoderInput): DecoderOutput {
    return this.head(this.transformer(this.source(input.tokens, input.mask), input.sparse, input.afterBlock), input.numPoints);
  }
}

/** What the transformer hands the head: the 5 + N prompt tokens [5 + N, 256] and the image tokens [4096, 256]. */
export type TransformerOutput = {
  queries: np.Array;
  keys: np.Array;
};

/** The image tokens plus the dense (mask) prompt; consumes `tokens` and `mask`. */
export function decoderSource(frozen: Frozen, tokens: np.Array, mask: np.Array | null): np.Array {
  return new Decoder(frozen, undefined, 0).source(tokens, mask);
}

/** The two-way transformer with LoRA; consumes `src` and `sparse`. */
export function decoderTransformer(frozen: Frozen, lora: Lora | undefined, loraScale: number, src: np.Array, sparse: np.Array): TransformerOutput {
  return new Decoder(frozen, lora, loraScale).transformer(src, sparse);
}

/** The frozen head; consumes `t`. */
export function decoderHead(frozen: Frozen, t: TransformerOutput, numPoints: number): DecoderOutput {
  return new Decoder(frozen, undefined, 0).head(t, numPoints);
}

/** One decoder pass; consumes `input`'s arrays, leaves `frozen` and `lora` to the caller. */
export function decoderForward(frozen: Frozen, lora: Lora | undefined, loraScale: number, input: DecoderInput): DecoderOutput {
  return new Decoder(frozen, lora, loraScale).forward(input);
}

/** The low-res logits of the chosen token, phase order [65536, 1]; consumes `out.masks` and `out.choice`. */
export function chosenLogits(out: Pick<DecoderOutput, 'masks' | 'choice'>): np.Array {
  return np.matmul(out.masks, out.choice);
}
