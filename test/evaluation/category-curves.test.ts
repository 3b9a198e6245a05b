import { describe, expect, it } from 'vitest';
import { EVAL_CURVE_POINTS } from '../../src/config/schema.js';
import { CategoryEvaluator, resolveProtocol } from '../../src/evaluation/protocol.js';
import { resizeBicubic } from '../../src/image/resize.js';
import { Lcg } from '../metrics/golden-data.js';

function square(w: number, h: number, x0: number, y0: number, s: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) m[y * w + x] = 1;
  return m;
}

function evaluate(aupro: 'grid' | 'exact', normalize = true) {
  const g = new Lcg(11);
  const w = 40;
  const h = 30;
  const masks = [square(w, h, 4, 4, 9), null, square(w, h, 22, 8, 10), null];
  const maps = masks.map((m) => Float32Array.from(m ?? new Uint8Array(w * h), (v) => 3 + 10 * (g.next() + 1.5 * v * g.next())));
  const ev = new CategoryEvaluator('c', masks.length, resolveProtocol({ resolution: 48, aupro, normalize }));
  masks.forEach((m, i) => ev.add(`img${i}`, m !== null, { data: maps[i], width: w, height: h }, m && { data: m, width: w, height: h }));
  return { row: ev.finish(), maps, w, h };
}

describe('metrics.json curves and map range (CategoryEvaluator)', () => {
  for (const aupro of ['grid', 'exact'] as const) {
    it(`${aupro} AUPRO: curves from the same sweep, F1-max point equal to the reported metric`, () => {
      const { row } = evaluate(aupro);
      const c = row.curves!;
      expect(c.max_points).toBe(EVAL_CURVE_POINTS);
      expect(c.pr.recall.length).toBeLessThanOrEqual(EVAL_CURVE_POINTS);
      expect(c.roc.fpr.length).toBeLessThanOrEqual(EVAL_CURVE_POINTS);
      expect(c.f1_max_point!.f1).toBe(row.pixel_f1_max);
      expect(c.f1_max_point!.threshold).toBe(row.pixel_f1_threshold);
      expect(c.pro!.definition).toBe(aupro);
      expect(Math.max(...c.pro!.fpr)).toBeLessThanOrEqual(0.3);
      // Normalised: every threshold lies on [0, 1].
      for (const t of c.roc.threshold) expect(t >= 0 && t <= 1).toBe(true);
    });
  }

  it('map_range is the range of the resized maps before normalisation', () => {
    const { row, maps, w, h } = evaluate('grid');
    let lo = Infinity;
    let hi = -Infinity;
    for (const m of maps) {
      for (const v of resizeBicubic(m, w, h, 48, 48)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    expect(row.map_range).toEqual({ min: lo, max: hi });
    // Without normalisation the thresholds are raw values, inside that range.
    const raw = evaluate('grid', false).row;
    expect(raw.map_range).toEqual(row.map_range);
    expect(raw.curves!.f1_max_point!.threshold).toBeGreaterThan(1);
    expect(raw.curves!.f1_max_point!.threshold).toBeLessThanOrEqual(hi);
  });

  it('a category without images has no range and no F1 point', () => {
    const row = new CategoryEvaluator('c', 1, resolveProtocol({ resolution: 8 })).finish();
    expect(row.map_range).toBeNull();
    expect(row.curves!.f1_max_point).toBeNull();
  });
});
