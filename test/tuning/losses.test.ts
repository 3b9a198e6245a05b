import { numpy as np } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { bceWithLogits, softplus } from '../../src/tuning/losses.js';

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
