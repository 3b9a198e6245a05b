import { numpy as np, valueAndGrad } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { bceWithLogits, distillLoss } from '../../src/tuning/losses.js';

// Logits past exp's float32 range (~88) made the SPT refiner's gradients NaN.
describe('BCE losses at large logits', () => {
  const logits = Float32Array.of(120, -120, 95, 0.5);
  const target = Float32Array.of(0, 1, 1, 0);
  it('bceWithLogits has a finite value and gradient, and the expected slope sigmoid(x) - t', () => {
    const [v, g] = valueAndGrad((x: np.Array) => bceWithLogits(x, np.array(target)))(np.array(logits));
    const value = v.dataSync()[0];
    const grad = g.dataSync() as Float32Array;
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeCloseTo((120 + 120 + 0 + Math.log1p(Math.exp(0.5))) / 4, 3);
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    for (let i = 0; i < 4; i++) expect(grad[i]).toBeCloseTo((sig(logits[i]) - target[i]) / 4, 5);
  });
  it('distillLoss has a finite gradient at large student logits', () => {
    const g = valueAndGrad((x: np.Array) => distillLoss(x, np.array(Float32Array.of(-3, 3, 0, 1))))(np.array(logits))[1];
    expect((g.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
  });
});
