import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { auproExactSorted, gridProCurveSorted, type RegionPixels } from '../../src/metrics/aupro.js';
import { selectCurvePoints } from '../../src/metrics/curve-points.js';
import { CurveRecorder, curvesFromSweep, f1MaxIndex } from '../../src/metrics/curves.js';
import { pixelMetrics } from '../../src/metrics/pixel-metrics.js';
import { keyToScore, sortScores, sweepThresholds } from '../../src/metrics/ranking.js';
import { mulberry32 } from '../../src/util/random.js';
import { genImages, poolImageSet } from './golden-data.js';

/** A pool with structure: positives score higher, many ties, regions of different sizes. */
function pool(n: number, seed = 1): RegionPixels {
  const rnd = mulberry32(seed);
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  const regionOf: number[] = [];
  const R = 40;
  for (let i = 0; i < n; i++) {
    const pos = rnd() < 0.04;
    labels[i] = pos ? 1 : 0;
    const s = pos ? 0.35 + 0.65 * rnd() ** 0.7 : rnd() ** 3;
    scores[i] = Math.round(s * 5000) / 5000;
    if (pos) regionOf.push(Math.floor(rnd() ** 2 * R));
  }
  const counts = new Array<number>(R).fill(0);
  for (const r of regionOf) counts[r]++;
  const renumber = new Map<number, number>();
  const areas: number[] = [];
  counts.forEach((a, r) => {
    if (a > 0) {
      renumber.set(r, areas.length);
      areas.push(a);
    }
  });
  return { scores, labels, posRegion: Uint32Array.from(regionOf.map((r) => renumber.get(r)!)), regionArea: areas };
}

/** Every point of the sweep, as plain arrays. */
function fullSweep(px: RegionPixels, exact: boolean) {
  const s = sortScores(px.scores, px.labels, px.posRegion);
  const tp: number[] = [];
  const fp: number[] = [];
  const th: number[] = [];
  const w: number[] = [];
  const R = px.regionArea.length;
  const weights = Float64Array.from(px.regionArea as number[], (a) => 1 / (R * a));
  sweepThresholds(
    s,
    (a, b, c, k) => {
      tp.push(a);
      fp.push(b);
      w.push(c);
      th.push(keyToScore(k));
    },
    exact ? weights : undefined,
  );
  return { s, tp, fp, th, w };
}

/** y at x by linear interpolation on a polyline sorted by x. */
function interp(xs: number[], ys: number[], x: number): number {
  let i = 1;
  while (i < xs.length - 1 && xs[i] < x) i++;
  const [x0, x1, y0, y1] = [xs[i - 1], xs[i], ys[i - 1], ys[i]];
  return x1 === x0 ? Math.max(y0, y1) : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
}

describe('selectCurvePoints', () => {
  it('keeps both ends and the required points, within the budget, close to the curve', () => {
    const n = 100_000;
    const x = Float64Array.from({ length: n }, (_, i) => i / (n - 1));
    const y = Float64Array.from(x, (v) => Math.sqrt(v) + 0.01 * Math.sin(v * 300));
    const idx = selectCurvePoints(x, y, { maxPoints: 512, keep: [12345] });
    expect(idx.length).toBeLessThanOrEqual(512);
    expect(idx[0]).toBe(0);
    expect(idx[idx.length - 1]).toBe(n - 1);
    expect(idx).toContain(12345);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    const xs = idx.map((i) => x[i]);
    const ys = idx.map((i) => y[i]);
    let err = 0;
    for (let i = 0; i < n; i += 97) err = Math.max(err, Math.abs(interp(xs, ys, x[i]) - y[i]));
    expect(err).toBeLessThan(0.01);
  });

  it('returns every point of a short curve', () => {
    expect(selectCurvePoints([0, 0.5, 1], [1, 0.5, 0], { maxPoints: 512 })).toEqual([0, 1, 2]);
    expect(selectCurvePoints([], [], { maxPoints: 512 })).toEqual([]);
    expect(() => selectCurvePoints([0, 1], [0], { maxPoints: 4 })).toThrow(/x has 2 values, y 1/);
  });
});

describe('curvesFromSweep', () => {
  const px = pool(400_000);
  const full = fullSweep(px, false);
  const { P, N } = full.s;
  const ref = pixelMetrics(px, { aupro: 'grid' });
  const c = curvesFromSweep({ tp: full.tp, fp: full.fp, threshold: full.th, P, N }, { gridPro: gridProCurveSorted(full.s, px.regionArea), fprLimit: 0.3 });

  it('has at most 512 points per curve, both ends included, thresholds descending', () => {
    expect(c.n_thresholds).toBe(full.tp.length);
    expect(full.tp.length).toBeGreaterThan(2000);
    for (const a of [c.pr.recall, c.pr.precision, c.pr.threshold, c.roc.fpr, c.roc.tpr, c.roc.threshold]) expect(a.length).toBeLessThanOrEqual(512);
    expect(c.roc.fpr[0]).toBeCloseTo(full.fp[0] / N, 6);
    expect(c.roc.fpr.at(-1)).toBe(1);
    expect(c.roc.tpr.at(-1)).toBe(1);
    expect(c.pr.recall.at(-1)).toBe(1);
    expect(c.pr.precision.at(-1)).toBeCloseTo(P / (P + N), 6);
    expect(c.pr.threshold.at(-1)).toBeCloseTo(full.th.at(-1)!, 5);
    for (let i = 1; i < c.pr.threshold.length; i++) expect(c.pr.threshold[i]).toBeLessThan(c.pr.threshold[i - 1]);
  });

  it('keeps the F1-max point exact: the F1-max and threshold pixelMetrics reports', () => {
    const f = c.f1_max_point!;
    expect(f.f1).toBe(ref.f1Max);
    expect(f.threshold).toBe(ref.f1Threshold);
    expect(c.pr.recall[f.index_pr]).toBe(f.recall);
    expect(c.pr.precision[f.index_pr]).toBe(f.precision);
    expect(c.roc.fpr[f.index_roc]).toBe(f.fpr);
    expect(c.roc.threshold[f.index_roc]).toBe(f.threshold);
    expect(f1MaxIndex(full.tp, full.fp, P)).toBe(full.th.indexOf(f.threshold));
  });

  it('the downsampled ROC keeps the area (AUROC to 1e-3)', () => {
    let area = (c.roc.fpr[0] * c.roc.tpr[0]) / 2;
    for (let i = 1; i < c.roc.fpr.length; i++) area += ((c.roc.fpr[i] - c.roc.fpr[i - 1]) * (c.roc.tpr[i] + c.roc.tpr[i - 1])) / 2;
    expect(Math.abs(area - ref.auroc!)).toBeLessThan(1e-3);
  });

  it('grid PRO: the 200-step curve up to the FPR limit, not rescaled', () => {
    const g = gridProCurveSorted(full.s, px.regionArea);
    const kept = Array.from(g.fpr).filter((v) => v <= 0.3);
    expect(c.pro!.definition).toBe('grid');
    expect(c.pro!.fpr.length).toBe(kept.length);
    expect(Math.max(...c.pro!.fpr)).toBeLessThanOrEqual(0.3);
  });

  it('exact PRO: ends at the limit, and its area is the exact AUPRO', () => {
    const ex = fullSweep(px, true);
    const ce = curvesFromSweep({ tp: ex.tp, fp: ex.fp, threshold: ex.th, P, N, proWeight: ex.w }, { fprLimit: 0.3, digits: 15 });
    const p = ce.pro!;
    expect(p.definition).toBe('exact');
    expect(p.fpr.at(-1)).toBeCloseTo(0.3, 12);
    let area = 0;
    for (let i = 1; i < p.fpr.length; i++) area += ((p.fpr[i] - p.fpr[i - 1]) * (p.pro[i] + p.pro[i - 1])) / 2;
    expect(Math.abs(area / 0.3 - auproExactSorted(ex.s, px.regionArea)!)).toBeLessThan(2e-3);
  });

  it('a category with one class has no F1 point and no PRO', () => {
    const e = curvesFromSweep({ tp: [0, 0], fp: [3, 10], threshold: [0.9, 0.1], P: 0, N: 10 });
    expect(e.f1_max_point).toBeNull();
    expect(e.pro).toBeNull();
  });
});

describe('CurveRecorder (bounded memory, fed by the sweep)', () => {
  it('gives the curve of the full arrays, with the exact F1 point', () => {
    const px = pool(600_000, 7);
    const full = fullSweep(px, false);
    const rec = new CurveRecorder(full.s.P, full.s.N, { eps: 1 / 4096 });
    for (let i = 0; i < full.tp.length; i++) rec.step(full.tp[i], full.fp[i], 0, full.th[i]);
    const a = rec.finish();
    const b = curvesFromSweep({ tp: full.tp, fp: full.fp, threshold: full.th, P: full.s.P, N: full.s.N });
    expect(a.n_thresholds).toBe(full.tp.length);
    expect(a.f1_max_point).toEqual({ ...b.f1_max_point!, index_pr: a.f1_max_point!.index_pr, index_roc: a.f1_max_point!.index_roc });
    expect(a.pr.recall.length).toBeLessThanOrEqual(512);
    for (let k = 1; k < 50; k++) {
      const r = k / 50;
      expect(Math.abs(interp(a.pr.recall, a.pr.precision, r) - interp(b.pr.recall, b.pr.precision, r))).toBeLessThan(0.01);
    }
    expect(a.roc.fpr.at(-1)).toBe(1);
  });

  it('keeps the F1 point when the eps rule would have dropped it', () => {
    // 1000 steps of one pixel each: with eps 0.5 almost nothing moves enough to be kept.
    const tp: number[] = [];
    const fp: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      tp.push(Math.min(i, 100));
      fp.push(Math.max(0, i - 100));
    }
    const rec = new CurveRecorder(100, 900, { eps: 0.5 });
    tp.forEach((t, i) => rec.step(t, fp[i], 0, 1000 - i));
    const c = rec.finish();
    expect(c.f1_max_point!.f1).toBe(1);
    expect(c.f1_max_point!.threshold).toBe(901);
    expect(c.pr.threshold[c.f1_max_point!.index_pr]).toBe(901);
    expect(c.pr.recall.length).toBeLessThan(10);
  });
});

describe('pixelMetrics with curves', () => {
  it('gives the same metric values as without them (grid, exact, none)', () => {
    const px = pool(200_000, 3);
    for (const aupro of ['grid', 'exact', 'none'] as const) {
      const { curves, ...withCurves } = pixelMetrics(px, { aupro, curvePoints: 512 });
      expect(withCurves).toEqual(pixelMetrics(px, { aupro }));
      expect(curves!.f1_max_point!.f1).toBe(withCurves.f1Max);
      expect(curves!.f1_max_point!.threshold).toBe(withCurves.f1Threshold);
      expect(curves!.pro?.definition ?? null).toBe(aupro === 'none' ? null : aupro);
    }
  });

  it('on the golden fixtures: identical metrics, and the stored PRO curve integrates to AUPRO', () => {
    const golden = JSON.parse(readFileSync(new URL('./fixtures/metrics-golden.json', import.meta.url), 'utf8'));
    const cases = golden.cases.filter((c: { generator: string }) => c.generator === 'images');
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const set = genImages(c.seed, c.count, c.width, c.height, c.levels);
      const px = poolImageSet(set);
      for (const aupro of ['grid', 'exact'] as const) {
        const { curves, ...m } = pixelMetrics(px, { aupro, curvePoints: 512 });
        expect(m, `${c.name} ${aupro}`).toEqual(pixelMetrics(px, { aupro }));
        expect(Math.abs(m.aupro! - (aupro === 'grid' ? c.expected.aupro_grid : c.expected.aupro_exact))).toBeLessThan(1e-6);
        if (aupro === 'exact') {
          const p = curves!.pro!;
          let area = 0;
          for (let i = 1; i < p.fpr.length; i++) area += ((p.fpr[i] - p.fpr[i - 1]) * (p.pro[i] + p.pro[i - 1])) / 2;
          expect(Math.abs(area / p.fpr_limit - m.aupro!)).toBeLessThan(2e-3);
        }
      }
    }
  });
});
