import { describe, expect, it } from 'vitest';
import {
  adaptiveThreshold,
  binarise,
  binariseWithPolicy,
  describeThresholdPolicy,
  otsuThreshold,
  parseThresholdPolicy,
  thresholdFor,
} from '../../../src/methods/components/threshold.js';
import { mulberry32 } from '../../../src/synth/rng.js';
import { validateConfig } from '../../../src/methods/registry.js';

describe('otsuThreshold', () => {
  it('splits a bimodal histogram between its modes', () => {
    const rng = mulberry32(3);
    const values: number[] = [];
    for (let i = 0; i < 3000; i++) values.push(0.2 + 0.05 * (rng() - 0.5));
    for (let i = 0; i < 1000; i++) values.push(0.8 + 0.05 * (rng() - 0.5));
    const t = otsuThreshold(values);
    expect(t).toBeGreaterThan(0.23);
    expect(t).toBeLessThan(0.77);
    const b = binarise(values, t);
    expect(b.reduce((a, v) => a + v, 0)).toBe(1000);
  });

  it('returns the value of a constant map (nothing above it)', () => {
    const t = otsuThreshold([0.5, 0.5, 0.5]);
    expect(binarise([0.5, 0.5, 0.5], t).every((v) => v === 0)).toBe(true);
  });
});

describe('adaptive and relative thresholds', () => {
  it('adaptive = quantile of the reference scores times a factor', () => {
    const ref = Array.from({ length: 1001 }, (_, i) => i / 1000);
    expect(adaptiveThreshold(ref, { quantile: 0.9, factor: 2 })).toBeCloseTo(1.8);
    expect(thresholdFor({ kind: 'adaptive' }, [0, 1], 0.42)).toBe(0.42);
    expect(() => thresholdFor({ kind: 'adaptive' }, [0, 1])).toThrow(/category threshold/);
  });

  it('relative cuts each region at a fraction of its own peak, keeping a weaker region', () => {
    // two regions on a 7x1 strip: peaks 1.0 and 0.4, threshold 0.15
    const map = [0.2, 0.6, 1.0, 0, 0.2, 0.4, 0.1];
    const { threshold, mask } = binariseWithPolicy(map, 7, 1, { kind: 'fixed', value: 0.15, relative: 0.5 });
    expect(threshold).toBe(0.15);
    expect(Array.from(mask)).toEqual([0, 1, 1, 0, 1, 1, 0]);
    expect(Array.from(binariseWithPolicy(map, 7, 1, { kind: 'fixed', value: 0.15 }).mask)).toEqual([1, 1, 1, 0, 1, 1, 0]);
  });

  it('otsu floor keeps a near-constant normal map from being split', () => {
    expect(thresholdFor({ kind: 'otsu', floor: 0.3 }, [0.01, 0.02, 0.03, 0.02])).toBe(0.3);
  });
});

describe('parseThresholdPolicy', () => {
  it('round-trips through describeThresholdPolicy', () => {
    for (const s of ['fixed:0.35', 'otsu', 'otsu:0.2', 'adaptive:0.99:1.1', 'adaptive:1:1+rel0.5', 'fixed:0.3+rel0.4']) {
      expect(describeThresholdPolicy(parseThresholdPolicy(s))).toBe(s);
    }
    expect(describeThresholdPolicy(parseThresholdPolicy('adaptive'))).toBe('adaptive:0.999:1');
  });

  it('rejects unknown policies and bad values', () => {
    expect(() => parseThresholdPolicy('median')).toThrow(/unknown threshold policy/);
    expect(() => parseThresholdPolicy('fixed')).toThrow(/needs a value/);
    expect(() => parseThresholdPolicy('fixed:abc')).toThrow(/not a number/);
    expect(() => parseThresholdPolicy('otsu+xyz')).toThrow(/modifier/);
  });

  it('rejects values out of their range, and the config schema refuses them', () => {
    for (const [spec, why] of [
      ['fixed:-1', /value must be >= 0/],
      ['adaptive:5', /quantile must be in \[0, 1\]/],
      ['adaptive:-1', /quantile must be in \[0, 1\]/],
      ['adaptive:0.99:-2', /factor must be > 0/],
      ['otsu:-0.1', /floor must be >= 0/],
      ['fixed:0.3+rel0', /rel must be in \(0, 1\]/],
      ['fixed:0.3:9', /too many ':' parts/],
    ] as const) {
      expect(() => parseThresholdPolicy(spec), spec).toThrow(why);
      expect(() => validateConfig({ preset: 'fewshot', fewshot: { threshold: spec } }, 'test'), spec).toThrow(/fewshot\.threshold: threshold policy/);
    }
    expect(validateConfig({ preset: 'fewshot', fewshot: { threshold: 'adaptive:1:1+rel0.5' } }, 'test').fewshot.threshold).toBe('adaptive:1:1+rel0.5');
  });
});
