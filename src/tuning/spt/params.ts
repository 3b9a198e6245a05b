/**
 * SPT's trainable values as one flat record in the shape `LoraArrays` has, so Adam and the
 * checkpoint files take them as they take plain LoRA: `draft/<module>` and `refine/<module>` are
 * each decoder's LoRA pairs; `draft/vra.<block>` and `refine/vra.<block>` are the relation
 * adapter's 256-vectors, held in `down` with an empty `up` (in 256, out 0, rank 1).
 */
import { numpy as np } from '@jax-js/jax';
import type { FrozenArrays } from '../decoder-params.js';
import { TRANSFORMER_DEPTH } from '../decoder-params.js';
import type { Lora } from '../decoder-forward.js';
import { initLora, type LoraArrays, type LoraConfig } from '../lora.js';
import { CHANNELS } from '../prompt-embedding.js';

export const PASSES = ['draft', 'refine'] as const;
export type Pass = (typeof PASSES)[number];

const VRA = /^(draft|refine)\/vra\.(\d+)$/;

/** The jax-js tree a step differentiates: per pass, its LoRA and its adapter scales. */
export type SptTree = Record<Pass, { lora: Lora; vra: np.Array[] }>;

/**
 * Both decoders' LoRA from the same base weights (the refiner's seeded apart from the draft's,
 * both with up = 0) and zero adapter scales: the initial SPT model is the frozen decoder, twice.
 */
export function initSptParams(frozen: FrozenArrays, lora: LoraConfig, seed: number, vra: boolean): LoraArrays {
  const out: LoraArrays = {};
  PASSES.forEach((pass, i) => {
    for (const [m, p] of Object.entries(initLora(frozen, lora, seed * 2 + i))) out[`${pass}/${m}`] = p;
    if (vra) {
      for (let b = 0; b < TRANSFORMER_DEPTH; b++) out[`${pass}/vra.${b}`] = { down: new Float32Array(CHANNELS), up: new Float32Array(0), in: CHANNELS, out: 0 };
    }
  });
  return out;
}

/** One pass's LoRA pairs by module name (the prefix dropped): what export merges. */
export function passLora(params: LoraArrays, pass: Pass): LoraArrays {
  const out: LoraArrays = {};
  for (const [k, p] of Object.entries(params)) if (k.startsWith(`${pass}/`) && !VRA.test(k)) out[k.slice(pass.length + 1)] = p;
  return out;
}

/** One pass's adapter scales in block order, or [] when the adapter is off. */
export function passScales(params: LoraArrays, pass: Pass): Float32Array[] {
  const out: Float32Array[] = [];
  for (let b = 0; b < TRANSFORMER_DEPTH; b++) {
    const p = params[`${pass}/vra.${b}`];
    if (p) out.push(p.down);
  }
  return out;
}

export function toSptTree(params: LoraArrays, rank: number): SptTree {
  const tree = { draft: { lora: {}, vra: [] }, refine: { lora: {}, vra: [] } } as SptTree;
  for (const pass of PASSES) {
    for (const [m, a] of Object.entries(passLora(params, pass))) {
      tree[pass].lora[m] = { down: np.array(a.down).reshape([a.in, rank]), up: np.array(a.up).reshape([rank, a.out]) };
    }
    tree[pass].vra = passScales(params, pass).map((s) => np.array(s));
  }
  return tree;
}

/** Gradients of a tree back to the flat record's keys, as host arrays. */
export function flatGrads(grads: SptTree): Record<string, { down: Float32Array; up: Float32Array }> {
  const out: Record<string, { down: Float32Array; up: Float32Array }> = {};
  for (const pass of PASSES) {
    for (const [m, g] of Object.entries(grads[pass].lora)) out[`${pass}/${m}`] = { down: g.down.dataSync() as Float32Array, up: g.up.dataSync() as Float32Array };
    grads[pass].vra.forEach((g, b) => {
      out[`${pass}/vra.${b}`] = { down: g.dataSync() as Float32Array, up: new Float32Array(0) };
    });
  }
  return out;
}

export function disposeTree(tree: SptTree): void {
  for (const pass of PASSES) {
    for (const p of Object.values(tree[pass].lora)) {
      p.down.dispose();
      p.up.dispose();
    }
    for (const s of tree[pass].vra) s.dispose();
  }
}
