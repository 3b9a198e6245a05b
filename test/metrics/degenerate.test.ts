import { describe, expect, it } from 'vitest';
import { auroc } from '../../src/metrics/auroc.js';
import { averagePrecision } from '../../src/metrics/average-precision.js';
import { auproGrid } from '../../src/metrics/aupro.js';
import { f1Max } from '../../src/metrics/f1-max.js';
import { maskIou } from '../../src/metrics/iou.js';
import { pixelMetrics } from '../../src/metrics/pixel-metrics.js';
import { keyToScore, MetricInputError, radixSortU32 } from '../../src/metrics/ranking.js';
import { Lcg } from './golden-data.js';

const noRegions = { posRegion: new Uint32Array(0), regionArea: [] as number[] };

describe('degenerate inputs give documented values, never NaN', () => {
  it('single class: every metric is null', () => {
    const scores = Float32Array.from([0.1, 0.5, 0.9]);
    for (const labels of [Uint8Array.from([0, 0, 0]), Uint8Array.from([1, 1, 1])]) {
      const posRegion = new Uint32Array(labels[0] ? 3 : 0);
      const m = pixelMetrics({ scores, labels, posRegion, regionArea: labels[0] ? [3] : [] }, { aupro: 'exact' });
      expect(m).toEqual({ auroc: null, ap: null, f1Max: null, f1Threshold: null, aupro: null });
      expect(auroc(scores, labels)).toBeNull();
      expect(averagePrecision(scores, labels)).toBeNull();
      expect(f1Max(scores, labels)).toBeNull();
    }
  });

  it('constant scores: AUROC 0.5, AP = prevalence, F1 = 2P/(2P+N)', () => {
    const scores = new Float32Array(10).fill(0.7);
    const labels = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const m = pixelMetrics({ scores, labels, ...noRegions }, { aupro: 'none' });
    expect(m.auroc).toBe(0.5);
    expect(m.ap).toBeCloseTo(0.2, 12);
    expect(m.f1Max).toBeCloseTo(4 / 12, 12);
    expect(m.f1Threshold).toBeCloseTo(0.7, 6);
  });

  it('NaN scores are an error', () => {
    const scores = Float32Array.from([0.1, Number.NaN]);
    const labels = Uint8Array.from([0, 1]);
    expect(() => pixelMetrics({ scores, labels, posRegion: new Uint32Array(1), regionArea: [1] })).toThrow(MetricInputError);
    expect(() => auroc([0.1, Number.NaN], [0, 1])).toThrow(/NaN/);
  });

  it('grid AUPRO of a perfect binary map is 1 and of a constant map 0 (the reference divides by zero)', () => {
    const labels = Uint8Array.from([0, 0, 1, 1, 0, 1]);
    const px = { labels, posRegion: Uint32Array.from([0, 0, 1]), regionArea: [2, 1] };
    expect(auproGrid({ ...px, scores: Float32Array.from(labels) })).toBe(1);
    expect(auproGrid({ ...px, scores: new Float32Array(6).fill(0.4) })).toBe(0);
    const exact = pixelMetrics({ ...px, scores: Float32Array.from(labels) }, { aupro: 'exact' });
    expect(exact.aupro).toBe(1);
    expect(exact.auroc).toBe(1);
  });

  it('a worse ranking lowers AUROC, AP, F1 and AUPRO', () => {
    const labels = Uint8Array.from([0, 0, 1, 1, 0, 1, 0, 0]);
    const px = { labels, posRegion: Uint32Array.from([0, 0, 1]), regionArea: [2, 1] };
    const good = pixelMetrics({ ...px, scores: Float32Array.from([0.1, 0.2, 0.9, 0.8, 0.3, 0.7, 0.2, 0.1]) }, { aupro: 'exact' });
    const bad = pixelMetrics({ ...px, scores: Float32Array.from([0.1, 0.9, 0.9, 0.1, 0.3, 0.7, 0.8, 0.1]) }, { aupro: 'exact' });
    for (const k of ['auroc', 'ap', 'f1Max', 'aupro'] as const) expect(bad[k]!).toBeLessThan(good[k]!);
  });

  it('IoU, with both empty = 1', () => {
    expect(maskIou([1, 1, 0, 0], [1, 0, 1, 0])).toBeCloseTo(1 / 3, 12);
    expect(maskIou([0, 0], [0, 0])).toBe(1);
    expect(() => maskIou([1], [1, 0])).toThrow(MetricInputError);
  });
});

describe('radix sort of score keys', () => {
  it('sorts like a comparator sort, payload following, negative and -0 scores included', () => {
    const g = new Lcg(5);
    const n = 5000;
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = (g.next() - 0.5) * 10 ** Math.floor(g.next() * 6 - 3);
    f[3] = -0;
    f[4] = 0;
    const labels = new Uint8Array(n);
    const m = pixelMetrics({ scores: f, labels, ...noRegions }, { aupro: 'none' });
    expect(m.auroc).toBeNull();
    const keys = new Uint32Array(n);
    const payload = new Uint32Array(n);
    const bits = new Uint32Array(f.buffer);
    for (let i = 0; i < n; i++) {
      const b = bits[i];
      keys[i] = b === 0x80000000 ? 0x80000000 : b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
      payload[i] = i;
    }
    radixSortU32(keys, payload);
    const expected = Array.from(f).sort((a, b) => a - b);
    for (let i = 0; i < n; i++) {
      expect(keyToScore(keys[i])).toBe(expected[i] === 0 ? 0 : expected[i]);
      expect(f[payload[i]] === expected[i] || (f[payload[i]] === 0 && expected[i] === 0)).toBe(true);
    }
  });
});
