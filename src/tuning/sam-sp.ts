/**
 * SAM-SP (self-prompting, Zhou et al. 2024) as a training step on one sample:
 *   pass 0    the sample's prompt (or none: prompt-free, as the paper);
 *   pass i>0  prompted by pass i-1's prediction: the tight box of its positive low-res pixels and
 *             its low-res logits as the mask prompt; both are values, not functions of the LoRA
 *             (stop-gradient between passes); an empty prediction keeps the previous prompt;
 *   loss      every pass: BCE + Dice + IoU-head MSE against the target; every pass but the last:
 *             + distill x BCE against the last pass's probabilities (self-distillation, the
 *             self-prompted pass teaching the one it came from; the teacher has no gradient).
 * The gradient of the sum is the sum of each pass's gradient, since the passes meet only through
 * stopped values, so each pass goes through `DecoderPass` on its own.
 */
import { numpy as np } from '@jax-js/jax';
import { chosenLogits, type DecoderOutput, type Frozen } from './decoder-forward.js';
import { distillLoss } from './losses.js';
import { fromPhaseOrder } from './prompt-embedding.js';
import { DecoderPass, type GradArrays } from './split-gradient.js';
import { applyGradients, outputLoss, type StepConfig, type TrainSample, type TrainState } from './train-step.js';
import type { LoraArrays } from './lora.js';
import type { DecoderWeights } from '../models/sam/decoder-weights.js';
import { sparseEmbedding } from './prompt-embedding.js';
import { maskBox } from '../image/masks.js';

export interface SamSpSettings {
  passes: number;
  distill: number;
  firstPass: 'prompt' | 'none';
}

/** A box [x0, y0, x1, y1) in SAM's 1024 model frame, or null for no box. */
export type ModelBox = [number, number, number, number];

/** The sparse prompt of a box in the model frame (null: prompt-free, one padding point). */
export type BoxEncoder = (box: ModelBox | null) => { sparse: Float32Array; numPoints: number };

/** Box corners (labels 2, 3) in the model frame, or SamOnnxModel's single padding point for no prompt. */
export function boxEncoder(weights: DecoderWeights): BoxEncoder {
  return (box) => {
    const coords = box ? Float32Array.from(box) : new Float32Array(2);
    const labels = box ? Float32Array.of(2, 3) : Float32Array.of(-1);
    return { sparse: sparseEmbedding(weights, coords, labels), numPoints: labels.length };
  };
}

const LOW = 256;
const TO_MODEL = 1024 / LOW;

/** The tight box of the positive pixels of phase-order low-res logits, in the model frame; null when none is positive. */
export function boxOfLowRes(phaseLogits: Float32Array): ModelBox | null {
  const plane = fromPhaseOrder(phaseLogits);
  const box = maskBox(plane.map((v) => (v > 0 ? 1 : 0)), LOW, LOW);
  if (!box) return null;
  const [x0, y0, x1, y1] = box;
  return [x0 * TO_MODEL, y0 * TO_MODEL, (x1 + 1) * TO_MODEL, (y1 + 1) * TO_MODEL];
}

interface Pass {
  pass: DecoderPass;
  /** The chosen token's low-res logits, phase order [65536]. */
  logits: Float32Array;
}

/** Runs the passes (forward only); the caller disposes each pass. */
function runPasses(frozen: Frozen, lora: LoraArrays, config: StepConfig, sample: TrainSample, sp: SamSpSettings, encode: BoxEncoder): Pass[] {
  let prompt = sp.firstPass === 'none' ? encode(null) : { sparse: sample.sparse, numPoints: sample.numPoints };
  let mask: Float32Array | undefined = sp.firstPass === 'none' ? undefined : sample.mask;
  const passes: Pass[] = [];
  for (let i = 0; i < sp.passes; i++) {
    const pass = new DecoderPass(frozen, lora, config.lora, {
      tokens: np.array(sample.tokens).reshape([4096, 256]),
      sparse: np.array(prompt.sparse).reshape([prompt.numPoints, 256]),
      mask: mask ? np.array(mask).reshape([4096, 16]) : null,
      numPoints: prompt.numPoints,
    });
    const out = pass.output();
    out.iou.dispose();
    const logits = chosenLogits(out).dataSync() as Float32Array;
    passes.push({ pass, logits });
    const box = boxOfLowRes(logits);
    if (box) {
      prompt = encode(box);
      mask = logits;
    }
  }
  return passes;
}

function passLoss(out: DecoderOutput, sample: TrainSample, config: StepConfig, teacher: Float32Array | null, weight: number): np.Array {
  if (!teacher || weight === 0) return outputLoss(out, sample.target, config.losses);
  const chosen = chosenLogits({ masks: out.masks.ref, choice: out.choice.ref });
  return outputLoss(out, sample.target, config.losses).add(distillLoss(chosen, np.array(teacher).reshape([65536, 1])).mul(weight));
}

function addInto(sum: GradArrays, g: GradArrays): void {
  for (const [k, p] of Object.entries(g)) {
    const s = sum[k];
    if (!s) {
      sum[k] = { down: p.down.slice(), up: p.up.slice() };
      continue;
    }
    for (let i = 0; i < p.down.length; i++) s.down[i] += p.down[i];
    for (let i = 0; i < p.up.length; i++) s.up[i] += p.up[i];
  }
}

/** Each pass's chosen low-res logits, phase order [65536]: what inference with `sam.refine=self`, `sam.self_prompt=box` computes. */
export function samSpForward(frozen: Frozen, lora: LoraArrays, config: StepConfig, sample: TrainSample, sp: SamSpSettings, encode: BoxEncoder): Float32Array[] {
  const passes = runPasses(frozen, lora, config, sample, sp, encode);
  for (const p of passes) p.pass.dispose();
  return passes.map((p) => p.logits);
}

/** The sample's SAM-SP loss (every pass, distillation included) under `lora`, without a step. */
export function samSpLoss(frozen: Frozen, lora: LoraArrays, config: StepConfig, sample: TrainSample, sp: SamSpSettings, encode: BoxEncoder): number {
  const passes = runPasses(frozen, lora, config, sample, sp, encode);
  const teacher = passes[passes.length - 1].logits;
  let total = 0;
  passes.forEach(({ pass }, i) => {
    total += passLoss(pass.output(), sample, config, i < passes.length - 1 ? teacher : null, sp.distill).dataSync()[0];
    pass.dispose();
  });
  return total;
}

/** One SAM-SP step; updates `state` in place and returns the sample's loss (summed over passes) before the update. */
export function samSpStep(frozen: Frozen, state: TrainState, sample: TrainSample, config: StepConfig, sp: SamSpSettings, encode: BoxEncoder): number {
  const passes = runPasses(frozen, state.lora, config, sample, sp, encode);
  const teacher = passes[passes.length - 1].logits;
  const grads: GradArrays = {};
  let total = 0;
  try {
    passes.forEach(({ pass }, i) => {
      const r = pass.valueAndGrad((out) => passLoss(out, sample, config, i < passes.length - 1 ? teacher : null, sp.distill));
      total += r.loss;
      addInto(grads, r.grads);
    });
  } finally {
    for (const p of passes) p.pass.dispose();
  }
  applyGradients(state, grads, config);
  return total;
}
