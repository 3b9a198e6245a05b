import { describe, expect, it } from 'vitest';
import { mean, meanDefined, quantile, sigmoid, valueRange } from '../../src/util/numeric.js';

describe('shared numeric helpers', () => {
  it('sigmoid is 1/2 at 0, symmetric, and saturates', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(2) + sigmoid(-2)).toBeCloseTo(1, 15);
    expect(sigmoid(-Infinity)).toBe(0);
  });

  it('mean is NaN without values; meanDefined skips nulls and is null without values', () => {
    expect(mean([1, 2, 6])).toBe(3);
    expect(mean([])).toBeNaN();
    expect(meanDefined([1, null, 3])).toBe(2);
    expect(meanDefined([null, null])).toBeNull();
  });

  it('valueRange passes over NaN and is null for no values', () => {
    expect(valueRange(Float32Array.from([3, NaN, -1, 2]))).toEqual({ min: -1, max: 3 });
    expect(valueRange([])).toBeNull();
  });

  it('quantile interpolates like numpy and clamps q', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBeCloseTo(2.5);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    expect(quantile([4, 1, 3, 2], 0)).toBe(1);
    expect(quantile([4, 1, 3, 2], 1.5)).toBe(4);
    expect(() => quantile([], 0.5)).toThrow(/no values/);
  });

  it('each interpolation form rounds as its own formula', () => {
    const v = [0.1, 0.7, 0.3, 0.9, 0.2];
    const pos = 0.03 * 4;
    const f = pos - Math.floor(pos);
    expect(quantile(v, 0.03, 'weights')).toBe(0.1 * (1 - f) + 0.2 * f);
    expect(quantile(v, 0.03, 'offset')).toBe(0.1 + (0.2 - 0.1) * f);
    expect(quantile(v, 0.03, 'weights')).not.toBe(quantile(v, 0.03, 'offset'));
  });
});
