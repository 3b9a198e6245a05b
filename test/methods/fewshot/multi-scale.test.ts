/**
 * The multi-scale few-shot map (minisam-ms) without models: the feature steps on typed arrays,
 * the per-scale normalisation, the equal-weight ensemble (invariant to the order of the scales),
 * and a defect patch ranking above every normal patch through the whole memory-bank path with a
 * two-scale stand-in backbone. The real encoder is exercised in minisam-ms.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { localMeanHwc, type HwcGrid } from '../../../src/models/backbones/features.js';
import { scaleGrid } from '../../../src/models/backbones/sam-inner.js';
import type { Backbone, FeatureGrid } from '../../../src/models/backbones/types.js';
import type { RgbImage } from '../../../src/image/types.js';
import { combineToWorkMap, type ScaleScores } from '../../../src/methods/components/score-map.js';
import { selectCoreset } from '../../../src/methods/components/coreset.js';
import { concatPatchSets } from '../../../src/methods/components/patch-distance.js';
import { gridToPatches, normaliseScores, prepareMemoryBank, scaleNorm, scoreScales } from '../../../src/methods/fewshot/memory-bank.js';
import { mulberry32 } from '../../../src/util/random.js';
import { shuffleInPlace } from '../../support/shuffle.js';
import { cropPoolChwToHwc, cropTokens, poolHwc } from '../../support/scale-grid-reference.js';

function randomGrid(h: number, w: number, c: number, seed: number): HwcGrid {
  const rnd = mulberry32(seed);
  return { data: Float32Array.from({ length: h * w * c }, () => rnd() - 0.5), h, w, c };
}

describe('feature steps on HWC grids', () => {
  it('local mean over (2r+1)^2 cells leaves cells outside the grid out of the mean', () => {
    const g = randomGrid(5, 7, 3, 1);
    for (const r of [1, 2]) {
      const out = localMeanHwc(g, r);
      for (let y = 0; y < g.h; y++)
        for (let x = 0; x < g.w; x++)
          for (let k = 0; k < g.c; k++) {
            let s = 0;
            let n = 0;
            for (let yy = Math.max(0, y - r); yy <= Math.min(g.h - 1, y + r); yy++)
              for (let xx = Math.max(0, x - r); xx <= Math.min(g.w - 1, x + r); xx++) {
                s += g.data[(yy * g.w + xx) * g.c + k];
                n++;
              }
            expect(out.data[(y * g.w + x) * g.c + k]).toBeCloseTo(s / n, 5);
          }
    }
    expect(localMeanHwc(g, 0)).toBe(g);
  });

  it('pooling averages what a partial last cell has; cropping CHW and pooling in one pass equals crop then pool', () => {
    const g: HwcGrid = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), h: 3, w: 3, c: 1 };
    expect(Array.from(poolHwc(g, 2).data)).toEqual([3, 4.5, 7.5, 9]);
    const c = 4;
    const h = 6;
    const w = 6;
    const chw = randomGrid(c, h, w, 2).data; // any values, read as CHW
    const one = cropPoolChwToHwc(chw, c, h, w, 5, 3, 2);
    const hwc = new Float32Array(5 * 3 * c);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 3; x++) for (let k = 0; k < c; k++) hwc[(y * 3 + x) * c + k] = chw[k * h * w + y * w + x];
    const two = poolHwc({ data: hwc, h: 5, w: 3, c }, 2);
    expect([one.h, one.w]).toEqual([3, 2]);
    one.data.forEach((v, i) => expect(v).toBeCloseTo(two.data[i], 6));
  });

  it('token tensors are cropped to the image cells and the grid covers the image like the stride says', async () => {
    const w = 8;
    const c = 2;
    const tokens = Float32Array.from({ length: w * w * c }, (_, i) => i);
    const crop = cropTokens(tokens, w, c, 3, 5);
    expect(Array.from(crop.data.subarray(0, c))).toEqual([0, 1]);
    expect(Array.from(crop.data.subarray(5 * c, 6 * c))).toEqual([w * c, w * c + 1]); // row 1, column 0
    // A 200 x 100 image in a 128 frame: resized 128 x 64; stride 16 keeps 8 x 4 cells of the 8 x 8.
    const grid = await scaleGrid({ data: tokens, dims: [1, w * w, c] }, { name: 's', tensor: 't', layout: 'tokens', stride: 16, pool: 1, radius: 0 }, { width: 200, height: 100 }, { width: 128, height: 64 });
    expect([grid.gridWidth, grid.gridHeight, grid.dim]).toEqual([8, 4, 2]);
    expect([grid.coverWidth, grid.coverHeight]).toEqual([200, 100]);
    // Rows come out L2-normalised.
    for (let p = 0; p < 32; p++) expect(Math.hypot(grid.data[2 * p], grid.data[2 * p + 1])).toBeCloseTo(1, 5);
    await expect(scaleGrid({ data: tokens, dims: [1, w * w, c] }, { name: 's', tensor: 't', layout: 'tokens', stride: 8, pool: 1, radius: 0 }, { width: 200, height: 100 }, { width: 128, height: 64 })).rejects.toThrow(/covering 16x8 cells/);
  });
});

describe('per-scale normalisation and the ensemble', () => {
  it('maps the leave-one-out mean to 0 and its 0.999 quantile to 1', () => {
    const loo = Float32Array.from({ length: 1001 }, (_, i) => 0.1 + i / 10000);
    const norm = scaleNorm(loo);
    const n = normaliseScores(Float32Array.from([norm.mean, norm.q999, 2 * norm.q999 - norm.mean]), norm);
    expect(n[0]).toBeCloseTo(0, 6);
    expect(n[1]).toBeCloseTo(1, 6);
    expect(n[2]).toBeCloseTo(2, 6);
    expect(normaliseScores(loo, null)).toBe(loo);
  });

  it('averages the scales with equal weights, the same whatever their order', () => {
    const rnd = mulberry32(5);
    const parts: ScaleScores[] = [
      { name: 'l0', grid: { gridWidth: 16, gridHeight: 12, coverWidth: 64, coverHeight: 48 }, scores: Float32Array.from({ length: 192 }, rnd) },
      { name: 'l1', grid: { gridWidth: 32, gridHeight: 24, coverWidth: 64, coverHeight: 48 }, scores: Float32Array.from({ length: 768 }, rnd) },
      { name: 'l2m', grid: { gridWidth: 8, gridHeight: 6, coverWidth: 70, coverHeight: 52 }, scores: Float32Array.from({ length: 48 }, rnd) },
      { name: 'l3', grid: { gridWidth: 8, gridHeight: 6, coverWidth: 64, coverHeight: 48 }, scores: Float32Array.from({ length: 48 }, rnd) },
    ];
    const opts = { workSize: 64, smoothSigma: 0 };
    const ref = combineToWorkMap(parts, 64, 48, opts).map;
    const singles = parts.map((p) => combineToWorkMap([p], 64, 48, opts).map);
    ref.forEach((v, i) => expect(v).toBeCloseTo(singles.reduce((a, m) => a + m[i], 0) / 4, 5));
    const rng = mulberry32(9);
    for (let t = 0; t < 4; t++) {
      const shuffled = shuffleInPlace([...parts], rng);
      expect(combineToWorkMap(shuffled, 64, 48, { workSize: 64, smoothSigma: 4 / 64 }).map).toEqual(combineToWorkMap(parts, 64, 48, { workSize: 64, smoothSigma: 4 / 64 }).map);
    }
  });
});

/**
 * A stand-in two-scale backbone: every image is a 16 x 16 grid of noisy copies of one normal
 * feature per scale; a query may carry a defect (another direction) on a 2 x 2 block of cells.
 */
function fakeBackbone(order: Array<'fine' | 'coarse'>): Backbone {
  const dims = { fine: 24, coarse: 40 };
  const grid = (scale: 'fine' | 'coarse', image: RgbImage): FeatureGrid => {
    const c = dims[scale];
    const rnd = mulberry32(image.data[0] * 1000 + c);
    const defect = image.data[1] === 1;
    const data = new Float32Array(256 * c);
    for (let p = 0; p < 256; p++) {
      const x = p % 16;
      const y = Math.floor(p / 16);
      const bad = defect && x >= 10 && x < 12 && y >= 4 && y < 6;
      for (let k = 0; k < c; k++) data[p * c + k] = (bad ? (k === c - 1 ? 1 : 0) : k === 0 ? 1 : 0) + (scale === 'fine' ? 0.3 : 0.05) * (rnd() - 0.5);
    }
    return { data, gridWidth: 16, gridHeight: 16, dim: c, coverWidth: 64, coverHeight: 64 };
  };
  return {
    name: 'fake',
    scaleNames: order,
    id: async () => 'fake',
    extract: async (image) => grid(order[0], image),
    extractScales: async (image) => order.map((s) => grid(s, image)),
  };
}

const image = (seed: number, defect: boolean): RgbImage => {
  const data = new Uint8Array(64 * 64 * 3);
  data[0] = seed;
  data[1] = defect ? 1 : 0;
  return { width: 64, height: 64, data };
};

describe('multi-scale memory bank', () => {
  it('ranks a defect above every normal patch, normalises each scale, and does not depend on the scale order', async () => {
    const refs = [1, 2, 3, 4].map((s) => image(s, false));
    const maps: Float32Array[] = [];
    for (const order of [['fine', 'coarse'], ['coarse', 'fine']] as Array<Array<'fine' | 'coarse'>>) {
      const bb = fakeBackbone(order);
      const bank = await prepareMemoryBank(bb, refs, { map: { workSize: 64, smoothSigma: 0 } });
      expect(bank.scales.map((s) => s.name)).toEqual(order);
      for (const s of bank.scales) {
        expect(s.norm).not.toBeNull();
        expect(s.norm!.q999).toBeGreaterThan(s.norm!.mean);
      }
      expect(bank.referenceScores.length).toBeGreaterThan(0);
      const q = image(9, true);
      const parts = await scoreScales(await bb.extractScales(q), bank);
      for (const p of parts) {
        // Cells of the 2 x 2 defect block against the normal cells.
        const bad = [4 * 16 + 10, 4 * 16 + 11, 5 * 16 + 10, 5 * 16 + 11];
        const minBad = Math.min(...bad.map((i) => p.scores[i]));
        const maxGood = Math.max(...Array.from(p.scores).filter((_, i) => !bad.includes(i)));
        expect(minBad).toBeGreaterThan(maxGood);
        // Normalised: normal cells sit near 0..1, whatever the scale's noise level.
        expect(maxGood).toBeLessThan(2);
      }
      maps.push(combineToWorkMap(parts, 64, 64, bank.mapOptions).map);
    }
    expect(maps[1]).toEqual(maps[0]);
  });

  it('with PCA (the fast variant) projects scales with more dims, queries too, and still ranks the defect first', async () => {
    const refs = [1, 2, 3, 4].map((s) => image(s, false));
    const bb = fakeBackbone(['fine', 'coarse']);
    const bank = await prepareMemoryBank(bb, refs, { pca: 30, coreset: { fraction: 0.5, minRows: 0, scope: 'reference', projection: 16, seed: 0 } });
    expect(bank.scales.map((s) => s.pca?.dims ?? null)).toEqual([null, 30]); // fine has 24 dims, coarse 40
    expect(bank.scales.map((s) => s.prepared.dim)).toEqual([24, 30]);
    const parts = await scoreScales(await bb.extractScales(image(9, true)), bank);
    const bad = [4 * 16 + 10, 4 * 16 + 11, 5 * 16 + 10, 5 * 16 + 11];
    for (const p of parts) expect(Math.min(...bad.map((i) => p.scores[i]))).toBeGreaterThan(Math.max(...Array.from(p.scores).filter((_, i) => !bad.includes(i))));
  });

  it('bank scope: reduces only banks at or above coreset_min_rows, and keeps the normalisation of the full bank', async () => {
    const refs = [1, 2, 3].map((s) => image(s, false));
    const full = await prepareMemoryBank(fakeBackbone(['fine', 'coarse']), refs, {});
    const reduced = await prepareMemoryBank(fakeBackbone(['fine', 'coarse']), refs, { coreset: { fraction: 0.25, minRows: 700, scope: 'bank', projection: 16, seed: 0 } });
    expect(reduced.scales.map((s) => [s.rows, s.kept])).toEqual([
      [768, 192],
      [768, 192],
    ]);
    expect(reduced.scales.map((s) => s.norm)).toEqual(full.scales.map((s) => s.norm));
    const none = await prepareMemoryBank(fakeBackbone(['fine', 'coarse']), refs, { coreset: { fraction: 0.25, minRows: 769, scope: 'bank', projection: 16, seed: 0 } });
    expect(none.scales.map((s) => s.kept)).toEqual([768, 768]);
  });

  it("reference scope: the bank is the union of each reference's own coreset, and leave-one-out runs against the other references' coresets", async () => {
    const refs = [1, 2, 3].map((s) => image(s, false));
    const bb = fakeBackbone(['fine', 'coarse']);
    const settings = { fraction: 0.25, minRows: 700, scope: 'reference' as const, projection: 16, seed: 0 };
    const full = await prepareMemoryBank(bb, refs, {});
    const per = await prepareMemoryBank(bb, refs, { coreset: settings });
    expect(per.scales.map((s) => [s.rows, s.kept])).toEqual([
      [768, 192],
      [768, 192],
    ]);
    for (let s = 0; s < 2; s++) {
      // The bank's rows, in order: reference 0's coreset, then 1's, then 2's.
      const own = await Promise.all(refs.map(async (r) => (await selectCoreset(gridToPatches((await bb.extractScales(r))[s]), settings)).rows));
      const expected = concatPatchSets(own);
      const { tensor, n, dim } = per.scales[s].prepared;
      const t = tensor.data as Float32Array;
      const rows = new Float32Array(n * dim);
      for (let j = 0; j < n; j++) for (let c = 0; c < dim; c++) rows[j * dim + c] = t[c * n + j];
      expect(rows).toEqual(expected.data);
      // Fewer rows to match: every leave-one-out distance can only grow, so the mean does.
      expect(per.scales[s].norm!.mean).toBeGreaterThan(full.scales[s].norm!.mean);
    }
    const small = await prepareMemoryBank(bb, refs, { coreset: { ...settings, minRows: 769 } });
    expect(small.scales.map((s) => s.kept)).toEqual([768, 768]);
    expect(small.scales.map((s) => s.norm)).toEqual(full.scales.map((s) => s.norm));
  });
});
