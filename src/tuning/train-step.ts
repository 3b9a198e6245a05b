/**
 * One training step of the decoder's LoRA parameters on one prompt of one image: the forward in
 * jax-js, BCE + Dice on the token SamOnnxModel would return (or, with output 'single', on token 0:
 * SAM's single-mask output, classic one-box-one-mask fine-tuning) plus the IoU head's MSE on all four,
 * gradients through the split of `split-gradient.ts`, then Adam on plain typed arrays (so a state
 * is a checkpoint).
 */
import { numpy as np, valueAndGrad } from '@jax-js/jax';
import { chosenLogits, decoderForward, type DecoderOutput, type Frozen, type Lora } from './decoder-forward.js';
import { splitValueAndGrad, type GradArrays } from './split-gradient.js';
import { bceWithLogits, diceLoss, iouHeadLoss, type LossWeights } from './losses.js';
import { loraScale, toJaxLora, type LoraArrays, type LoraConfig } from './lora.js';

/** One prompt on one cached embedding, every array already in the forward's order. */
export interface TrainSample {
  /** Image embedding in token order [4096 * 256]. */
  tokens: Float32Array;
  /** Sparse prompt embedding [numPoints * 256]. */
  sparse: Float32Array;
  numPoints: number;
  /** Low-res mask prompt logits in phase order [65536], if any. */
  mask?: Float32Array;
  /** The ground truth at low resolution in phase order [65536], 0 or 1. */
  target: Float32Array;
}

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS: AdamConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export interface TrainState {
  /** Steps taken. */
  step: number;
  lora: LoraArrays;
  /** Adam's first and second moments, shaped as `lora`. */
  m: LoraArrays;
  v: LoraArrays;
}

/** Which token BCE and Dice train: the export's own choice, or token 0 (tune.output). */
export type TrainedOutput = 'best' | 'single';

export interface StepConfig {
  lora: LoraConfig;
  adam: AdamConfig;
  losses: LossWeights;
  /** Default 'best'. */
  output?: TrainedOutput;
}

/** One-hot [4, 1] of token 0. */
function singleChoice(): np.Array {
  return np.array(new Float32Array([1, 0, 0, 0])).reshape([4, 1]);
}

function zerosLike(a: LoraArrays): LoraArrays {
  const out: LoraArrays = {};
  for (const [k, p] of Object.entries(a)) out[k] = { ...p, down: new Float32Array(p.down.length), up: new Float32Array(p.up.length) };
  return out;
}

export function initialState(lora: LoraArrays): TrainState {
  return { step: 0, lora, m: zerosLike(lora), v: zerosLike(lora) };
}

/** BCE + Dice of the trained token (`output`) and the IoU head's MSE against a [65536] phase-order target; consumes `out`. */
export function outputLoss(out: DecoderOutput, targetValues: Float32Array, weights: LossWeights, output: TrainedOutput = 'best'): np.Array {
  const target = np.array(targetValues).reshape([65536, 1]);
  let choice = out.choice;
  if (output === 'single') {
    choice.dispose();
    choice = singleChoice();
  }
  const chosen = chosenLogits({ masks: out.masks.ref, choice });
  const bce = bceWithLogits(chosen.ref, target.ref).mul(weights.bce);
  const dice = diceLoss(chosen, target.ref).mul(weights.dice);
  const iou = iouHeadLoss(out.masks, target, out.iou).mul(weights.iou);
  return bce.add(dice).add(iou);
}

/** The sample's prompt as the forward's input arrays. */
export function sampleInput(sample: TrainSample) {
  return {
    tokens: np.array(sample.tokens).reshape([4096, 256]),
    sparse: np.array(sample.sparse).reshape([sample.numPoints, 256]),
    mask: sample.mask ? np.array(sample.mask).reshape([4096, 16]) : null,
    numPoints: sample.numPoints,
  };
}

/** The total loss of one sample as a jax-js scalar, all eager; consumes nothing of `frozen` or `lora`. */
export function sampleLoss(frozen: Frozen, lora: Lora | undefined, scale: number, sample: TrainSample, weights: LossWeights, output: TrainedOutput = 'best'): np.Array {
  return outputLoss(decoderForward(frozen, lora, scale, sampleInput(sample)), sample.target, weights, output);
}

/** Loss and LoRA gradients of one sample by one eager valueAndGrad over the whole forward (the reference the split is checked against). */
export function eagerValueAndGrad(frozen: Frozen, lora: LoraArrays, config: StepConfig, sample: TrainSample): { loss: number; grads: GradArrays } {
  const scale = loraScale(config.lora);
  const f = (l: Lora): np.Array => sampleLoss(frozen, l, scale, sample, config.losses, config.output);
  const [loss, grads] = valueAndGrad(f)(toJaxLora(lora, config.lora.rank));
  const host: GradArrays = {};
  for (const [k, g] of Object.entries(grads)) host[k] = { down: g.down.dataSync() as Float32Array, up: g.up.dataSync() as Float32Array };
  return { loss: loss.dataSync()[0], grads: host };
}

/** Adam with bias correction, in place on `state`'s arrays. */
export function adamUpdate(state: TrainState, grads: GradArrays, c: AdamConfig): void {
  const t = state.step + 1;
  const c1 = 1 - c.beta1 ** t;
  const c2 = 1 - c.beta2 ** t;
  for (const k of Object.keys(state.lora)) {
    for (const part of ['down', 'up'] as const) {
      const p = state.lora[k][part];
      const m = state.m[k][part];
      const v = state.v[k][part];
      const g = grads[k][part];
      for (let i = 0; i < p.length; i++) {
        m[i] = c.beta1 * m[i] + (1 - c.beta1) * g[i];
        v[i] = c.beta2 * v[i] + (1 - c.beta2) * g[i] * g[i];
        p[i] -= (c.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + c.eps);
      }
    }
  }
  state.step = t;
}

/** Adam on given gradients: for methods whose loss is built of several passes. */
export function applyGradients(state: TrainState, grads: GradArrays, config: StepConfig): void {
  adamUpdate(state, grads, config.adam);
}

/** One step on one sample; updates `state` in place and returns the sample's loss before the update. */
export function trainStep(frozen: Frozen, state: TrainState, sample: TrainSample, config: StepConfig): number {
  const { loss, grads } = splitValueAndGrad(frozen, state.lora, config.lora, sampleInput(sample), (out) => outputLoss(out, sample.target, config.losses, config.output));
  adamUpdate(state, grads, config.adam);
  return loss;
}

/** The loss of one sample under the current parameters, without a step. */
export function evalLoss(frozen: Frozen, lora: LoraArrays, config: StepConfig, sample: TrainSample): number {
  const l = toJaxLora(lora, config.lora.rank);
  const value = sampleLoss(frozen, l, loraScale(config.lora), sample, config.losses, config.output).dataSync()[0];
  for (const p of Object.values(l)) {
    p.down.dispose();
    p.up.dispose();
  }
  return value;
}
