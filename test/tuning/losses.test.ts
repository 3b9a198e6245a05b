import { numpy as np, valueAndGrad } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { bceWithLogits, diceLoss, distillLoss, sigmoid, softplus } from '../../src/tuning/losses.js';

describe('tuning losses', () => {
  it('softplus stays finite and exact for logits far past exp overflow', () => {
    const v = softplus(np.array([200, 100, 20, 0, -100])).dataSync() as Float32Array;
    expect(v[0]).toBeCloseTo(200, 3);
    expect(v[1]).toBeCloseTo(100, 3);
    expect(v[2]).toBeCloseTo(20, 3);
    expect(v[3]).toBeCloseTo(Math.log(2), 5);
    expect(v[4]).toBeGreaterThanOrEqual(0);
    expect(v[4]).toBeLessThan(1e-6);
  });

  it('BCE of a confident right answer is ~0, not NaN', () => {
    const l = bceWithLogits(np.array([150, -150]).reshape([2, 1]), np.array([1, 0]).reshape([2, 1])).dataSync()[0];
    expect(Number.isFinite(l)).toBe(true);
    expect(l).toBeLessThan(1e-6);
  });
});

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

// SAM's background logits go below -88, where the runtime's own sigmoid has a NaN gradient.
describe('Dice at very negative logits', () => {
  const logits = Float32Array.of(-150, -95, -2, 0, 3, 120);
  const target = Float32Array.of(0, 0, 1, 0, 1, 1);
  it('sigmoid has the logistic value and slope everywhere', () => {
    const [v, g] = valueAndGrad((x: np.Array) => sigmoid(x).sum())(np.array(logits));
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    expect(v.dataSync()[0]).toBeCloseTo(Array.from(logits, sig).reduce((a, b) => a + b, 0), 5);
    const grad = g.dataSync() as Float32Array;
    for (let i = 0; i < logits.length; i++) expect(grad[i]).toBeCloseTo(sig(logits[i]) * (1 - sig(logits[i])), 6);
  });
  it('diceLoss has a finite gradient that matches finite differences', () => {
    const f = (x: np.Array) => diceLoss(x, np.array(target));
    const g = valueAndGrad(f)(np.array(logits))[1].dataSync() as Float32Array;
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    const h = 1e-2;
    const at = (i: number, d: number) => {
      const x = Float32Array.from(logits);
      x[i] += d;
      return f(np.array(x)).dataSync()[0];
    };
    for (const i of [2, 3, 4]) expect(g[i]).toBeCloseTo((at(i, h) - at(i, -h)) / (2 * h), 3);
  });
});
