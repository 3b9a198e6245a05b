import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { auroc } from '../../src/metrics/auroc.js';
import { averagePrecision } from '../../src/metrics/average-precision.js';
import { f1Max } from '../../src/metrics/f1-max.js';
import { gridProCurve, gridProCurveSorted } from '../../src/metrics/aupro.js';
import { sortScores } from '../../src/metrics/ranking.js';
import { pixelMetrics, rankingMetrics } from '../../src/metrics/pixel-metrics.js';
import { genImages, poolImageSet, scoreGenerators } from './golden-data.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/metrics-golden.json', import.meta.url), 'utf8'));
const TOL = 1e-6;


describe('metrics agree with scikit-learn (fixtures from tools/golden/metrics_golden.py)', () => {
  for (const c of golden.cases) {
    it(`${c.name}: pixel AUROC, AP, F1-max${c.generator === 'images' ? ', AUPRO (both), image level' : ''}`, () => {
      const e = c.expected;
      if (c.generator === 'images') {
        const set = genImages(c.seed, c.count, c.width, c.height, c.levels);
        const px = poolImageSet(set);
        expect(px.regionArea.length).toBe(e.regions);
        const grid = pixelMetrics(px, { aupro: 'grid' });
        const exact = pixelMetrics(px, { aupro: 'exact' });
        expect(grid.auroc).toBeCloseTo(e.auroc, 9);
        expect(Math.abs(grid.auroc! - e.auroc)).toBeLessThan(TOL);
        expect(Math.abs(grid.ap! - e.ap)).toBeLessThan(TOL);
        expect(Math.abs(grid.f1Max! - e.f1_max)).toBeLessThan(TOL);
        expect(Math.abs(grid.aupro! - e.aupro_grid)).toBeLessThan(TOL);
        expect(Math.abs(exact.aupro! - e.aupro_exact)).toBeLessThan(TOL);
        expect(exact.auroc).toBe(grid.auroc);
        // The histogram pass (no sort) and the sorted walk give the same 200-point curve.
        const a = gridProCurve(px);
        const b = gridProCurveSorted(sortScores(px.scores, px.labels, px.posRegion), px.regionArea);
        expect(Array.from(b.fpr)).toEqual(Array.from(a.fpr));
        for (let k = 0; k < 200; k++) expect(Math.abs(a.pro[k] - b.pro[k])).toBeLessThan(1e-12);
        const img = rankingMetrics(px.imageScores, px.imageLabels);
        if (e.image === null) expect(img.auroc).toBeNull();
        else {
          expect(Math.abs(img.auroc! - e.image.auroc)).toBeLessThan(TOL);
          expect(Math.abs(img.ap! - e.image.ap)).toBeLessThan(TOL);
          expect(Math.abs(img.f1Max! - e.image.f1_max)).toBeLessThan(TOL);
        }
      } else {
        const { scores, labels } = scoreGenerators[c.generator](c.seed, c.n);
        const fast = pixelMetrics({ scores, labels, posRegion: new Uint32Array(0), regionArea: [] }, { aupro: 'none' });
        for (const m of [fast, { auroc: auroc(scores, labels), ap: averagePrecision(scores, labels), f1Max: f1Max(scores, labels)?.f1 }]) {
          expect(Math.abs(m.auroc! - e.auroc)).toBeLessThan(TOL);
          expect(Math.abs(m.ap! - e.ap)).toBeLessThan(TOL);
          expect(Math.abs(m.f1Max! - e.f1_max)).toBeLessThan(TOL);
        }
      }
    });
  }
});
