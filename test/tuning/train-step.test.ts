import { numpy as np } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { frozenArrays } from '../../src/tuning/decoder-params.js';
import { toFrozen } from '../../src/tuning/decoder-forward.js';
import { bceWithLogits, diceLoss, iouHeadLoss } from '../../src/tuning/losses.js';
import { flattenLora, initLora, loraModules, type LoraConfig } from '../../src/tuning/lora.js';
import { ADAM_DEFAULTS, eagerValueAndGrad, evalLoss, initialState, outputLoss, sampleInput, trainStep, type StepConfig } from '../../src/tuning/train-step.js';
import { splitValueAndGrad } from '../../src/tuning/split-gradient.js';
import { realWeights, syntheticSample } from './synthetic.js';

const lora: LoraConfig = { rank: 4, alpha: 4, targets: ['q', 'v'] };
const config: StepConfig = { lora, adam: { ...ADAM_DEFAULTS, lr: 3e-3 }, losses: { bce: 1, dice: 1, iou: 1 } };

describe('tuning losses', () => {
  it('BCE with logits, Dice and the IoU-head MSE follow their definitions', () => {
    const x = [2, -1, 0.5, -3];
    const t = [1, 0, 0, 1];
    const bce = x.reduce((s, v, i) => s + Math.log1p(Math.exp(v)) - v * t[i], 0) / 4;
    expect(bceWithLogits(np.array(x), np.array(t)).dataSync()[0]).toBeCloseTo(bce, 5);
    const p = x.map((v) => 1 / (1 + Math.exp(-v)));
    const inter = p.reduce((s, v, i) => s + v * t[i], 0);
    const dice = 1 - (2 * inter + 1) / (p.reduce((a, b) => a + b) + 2 + 1);
    expect(diceLoss(np.array(x), np.array(t)).dataSync()[0]).toBeCloseTo(dice, 5);
    // Two tokens: the first's mask (x > 0) is pixels 0, 2 (IoU with {0, 3} = 1/3), the second's all four (1/2).
    const masks = np.array([[2, 1], [-1, 1], [0.5, 1], [-3, 1]]);
    const target = np.array([[1], [0], [0], [1]]);
    const predicted = np.array([[0.5, 0.5]]);
    const mse = ((0.5 - 1 / 3) ** 2 + (0.5 - 0.5) ** 2) / 2;
    expect(iouHeadLoss(masks, target, predicted).dataSync()[0]).toBeCloseTo(mse, 5);
  });
});

describe('LoRA targets', () => {
  it('q/v name the 14 attention projections, + k/out/mlp the rest of the transformer', () => {
    expect(loraModules(['q', 'v'])).toHaveLength(14);
    expect(loraModules(['q', 'k', 'v', 'out', 'mlp'])).toHaveLength(7 * 4 + 4);
    expect(loraModules(['mlp'])).toContain('mask_decoder.transformer.layers.1.mlp.lin2');
  });
});

describe('a training step of the decoder LoRA', () => {
  const fa = frozenArrays(realWeights());
  const frozen = toFrozen(fa);
  const samples = [syntheticSample(1, 120, 100, 30), syntheticSample(2, 80, 160, 20)];

  it('a few steps on a tiny synthetic set lower its loss', () => {
    const state = initialState(initLora(fa, lora, 0));
    const mean = () => samples.reduce((s, x) => s + evalLoss(frozen, state.lora, config, x), 0) / samples.length;
    const before = mean();
    for (let i = 0; i < 4; i++) trainStep(frozen, state, samples[i % 2], config);
    expect(state.step).toBe(4);
    expect(mean()).toBeLessThan(before * 0.9);
  }, 300_000);

  it('the jit-split gradient equals one eager valueAndGrad over the whole forward', () => {
    const l = initLora(fa, { ...lora, targets: ['q', 'v', 'mlp'] }, 2);
    for (const p of Object.values(l)) for (let i = 0; i < p.up.length; i++) p.up[i] = Math.sin(i * 0.37) * 0.05; // a non-zero delta
    const c = { ...config, lora: { ...lora, targets: ['q', 'v', 'mlp'] as LoraConfig['targets'] } };
    const eager = eagerValueAndGrad(frozen, l, c, samples[0]);
    const split = splitValueAndGrad(frozen, l, c.lora, sampleInput(samples[0]), (out) => outputLoss(out, samples[0].target, c.losses));
    expect(split.loss).toBeCloseTo(eager.loss, 4);
    let scale = 0;
    for (const k of Object.keys(eager.grads)) for (const v of eager.grads[k].down) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0);
    for (const k of Object.keys(eager.grads)) {
      for (const part of ['down', 'up'] as const) {
        const a = eager.grads[k][part];
        const b = split.grads[k][part];
        expect(b.length).toBe(a.length);
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-4 * scale + 1e-7);
      }
    }
  }, 300_000);

  it('is deterministic for a seed, and the seed matters', () => {
    const run = (seed: number) => {
      const state = initialState(initLora(fa, lora, seed));
      const losses = [0, 1].map((i) => trainStep(frozen, state, samples[i], config));
      return { losses, values: flattenLora(state.lora).flatMap((a) => Array.from(a)) };
    };
    const a = run(5);
    const b = run(5);
    expect(b.losses).toEqual(a.losses);
    expect(b.values).toEqual(a.values);
    expect(flattenLora(initLora(fa, lora, 6))).not.toEqual(flattenLora(initLora(fa, lora, 5)));
  }, 300_000);
});
