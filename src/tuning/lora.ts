/**
 * LoRA on the decoder's two-way transformer: which linear modules get a low-rank delta, their
 * seeded initial values (down random, up zero, so training starts from the frozen decoder) and
 * the delta's scale alpha / rank. Parameters live as plain typed arrays between steps, so a
 * checkpoint is a file of floats and a step is a pure function of them.
 */
import { numpy as np } from '@jax-js/jax';
import { ATTENTIONS, TRANSFORMER_DEPTH, type FrozenArrays } from './decoder-params.js';
import type { Lora } from './decoder-forward.js';
import { mulberry32 } from '../util/random.js';

export const LORA_TARGETS = ['q', 'k', 'v', 'out', 'mlp'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraConfig {
  rank: number;
  alpha: number;
  targets: LoraTarget[];
}

/** Module name -> flat values of down [in, rank] and up [rank, out]. */
export type LoraArrays = Record<string, { down: Float32Array; up: Float32Array; in: number; out: number }>;

const PROJ: Record<Exclude<LoraTarget, 'mlp'>, string> = { q: 'q_proj', k: 'k_proj', v: 'v_proj', out: 'out_proj' };

/** The transformer's linear modules the targets name, in a fixed order. */
export function loraModules(targets: readonly LoraTarget[]): string[] {
  const t = 'mask_decoder.transformer';
  const attentions = [...Array.from({ length: TRANSFORMER_DEPTH }, (_, i) => ATTENTIONS.map((a) => `${t}.layers.${i}.${a}`)).flat(), `${t}.final_attn_token_to_image`];
  const out: string[] = [];
  for (const a of attentions) {
    for (const k of ['q', 'k', 'v', 'out'] as const) if (targets.includes(k)) out.push(`${a}.${PROJ[k]}`);
  }
  if (targets.includes('mlp')) {
    for (let i = 0; i < TRANSFORMER_DEPTH; i++) out.push(`${t}.layers.${i}.mlp.lin1`, `${t}.layers.${i}.mlp.lin2`);
  }
  return out;
}

/** Down uniform in +-1/sqrt(in) (PyTorch's Linear init), up zero: the initial delta is zero. */
export function initLora(frozen: FrozenArrays, config: LoraConfig, seed: number): LoraArrays {
  if (!Number.isInteger(config.rank) || config.rank < 1) throw new Error(`tune: lora rank must be a positive integer, got ${config.rank}`);
  const random = mulberry32(seed);
  const out: LoraArrays = {};
  for (const m of loraModules(config.targets)) {
    const w = frozen[`${m}.weight_t`];
    if (!w) throw new Error(`tune: no linear weight for LoRA target ${m}`);
    const [inDim, outDim] = w.shape;
    const bound = 1 / Math.sqrt(inDim);
    const down = Float32Array.from({ length: inDim * config.rank }, () => (2 * random() - 1) * bound);
    out[m] = { down, up: new Float32Array(config.rank * outDim), in: inDim, out: outDim };
  }
  return out;
}

export function loraScale(config: LoraConfig): number {
  return config.alpha / config.rank;
}

export function toJaxLora(arrays: LoraArrays, rank: number): Lora {
  const out: Lora = {};
  for (const [m, a] of Object.entries(arrays)) {
    out[m] = { down: np.array(a.down).reshape([a.in, rank]), up: np.array(a.up).reshape([rank, a.out]) };
  }
  return out;
}

/** Every value of the LoRA parameters in module order: what the optimizer and checkpoints see. */
export function flattenLora(arrays: LoraArrays): Float32Array[] {
  return Object.keys(arrays)
    .sort()
    .flatMap((m) => [arrays[m].down, arrays[m].up]);
}
