/**
 * One normal reference (fewshot.single_reference): its stand-ins give the per-scale
 * normalisation and the adaptive threshold the leave-one-out scores one image cannot, with a
 * two-scale stand-in backbone on a noise texture. Without stand-ins the threshold is refused.
 * Up to k = fewshot.stand_ins_max_k every reference gets them, and the bank keeps the rows of k = 4.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/image/types.js';
import { flipHorizontal, rotateQuarter } from '../../../src/image/warp.js';
import type { Backbone, FeatureGrid } from '../../../src/models/backbones/types.js';
import { singleReferenceStandIns } from '../../../src/methods/fewshot/augment.js';
import { fewshotCategoryFromBank, fewshotOptions } from '../../../src/methods/fewshot/algorithm.js';
import { NO_CORESET, prepareMemoryBank, scoreQuery, standInCoreset, type CoresetSettings } from '../../../src/methods/fewshot/memory-bank.js';
import { mulberry32 } from '../../../src/util/random.js';

const SIDE = 32;

/** Grey noise around 120, optionally with a bright square (the defect). */
function texture(seed: number, defect = false): RgbImage {
  const rnd = mulberry32(seed);
  const data = new Uint8Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      const v = defect && x >= 12 && x < 18 && y >= 12 && y < 18 ? 250 : 90 + Math.floor(60 * rnd());
      data.fill(v, (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
    }
  return { width: SIDE, height: SIDE, data };
}

/**
 * Scale 'fine': per pixel [value, step to the right, step down, 0.5]; 'coarse': the same on 2x2
 * means. The steps see direction, so a mirrored or turned copy is not the reference's patches again.
 */
function grids(image: RgbImage): FeatureGrid[] {
  const cells = (step: number): FeatureGrid => {
    const w = image.width / step;
    const h = image.height / step;
    const mean = (gx: number, gy: number) => {
      const cx = Math.min(w - 1, gx);
      const cy = Math.min(h - 1, gy);
      let s = 0;
      for (let y = 0; y < step; y++) for (let x = 0; x < step; x++) s += image.data[((cy * step + y) * image.width + cx * step + x) * 3] / 255;
      return s / (step * step);
    };
    const data = new Float32Array(w * h * 4);
    for (let gy = 0; gy < h; gy++)
      for (let gx = 0; gx < w; gx++) {
        const v = mean(gx, gy);
        data.set([v, mean(gx + 1, gy) - v, mean(gx, gy + 1) - v, 0.5], (gy * w + gx) * 4);
      }
    return { data, gridWidth: w, gridHeight: h, dim: 4, coverWidth: image.width, coverHeight: image.height };
  };
  return [cells(1), cells(2)];
}

const twoScales: Backbone = {
  name: 'two-scales',
  scaleNames: ['fine', 'coarse'],
  id: async () => 'two-scales',
  extract: async (image) => grids(image)[0],
  extractScales: async (image) => grids(image),
};

const options = fewshotOptions({ map: { workSize: SIDE, smoothSigma: 0 } });
const map = options.map;

describe('fewshot.single_reference', () => {
  it('without stand-ins one reference has no normalisation and the adaptive threshold is refused', async () => {
    const bank = await prepareMemoryBank(twoScales, [texture(1)], { map });
    expect(bank.standIns).toBe(0);
    expect(bank.scales.every((s) => s.norm === null)).toBe(true);
    expect(() => fewshotCategoryFromBank(bank, options)).toThrow(/at least 2 normal references/);
  });

  for (const mode of ['flip', 'rot90'] as const) {
    it(`'${mode}': the stand-ins give every scale a normalisation and a threshold that separates a defect from normal texture`, async () => {
      const bank = await prepareMemoryBank(twoScales, [texture(1)], { map, single: singleReferenceStandIns(mode) });
      expect(bank.standIns).toBe(3);
      expect(bank.referenceCount).toBe(4);
      expect(bank.scales.every((s) => s.norm !== null && s.norm.q999 > s.norm.mean)).toBe(true);
      const { categoryThreshold } = fewshotCategoryFromBank(bank, options);
      expect(Number.isFinite(categoryThreshold)).toBe(true);
      const above = (m: Float32Array) => m.filter((x) => x > categoryThreshold!).length / m.length;
      const normal = await scoreQuery(twoScales, bank, texture(7));
      const defective = await scoreQuery(twoScales, bank, texture(8, true));
      expect(above(normal)).toBeLessThan(0.02);
      // The 6x6 square (3.5 % of the image) is above the threshold, and is where the peak is.
      expect(above(defective)).toBeGreaterThan(0.02);
      const peak = defective.indexOf(defective.reduce((a, b) => Math.max(a, b), -Infinity));
      expect([peak % SIDE, Math.floor(peak / SIDE)].every((c) => c >= 11 && c <= 18)).toBe(true);
    });
  }

  it('stand-ins apply to a single reference only: two references are used as they are', async () => {
    const bank = await prepareMemoryBank(twoScales, [texture(1), texture(2)], { map, single: singleReferenceStandIns('flip') });
    expect(bank.standIns).toBe(0);
    expect(bank.referenceCount).toBe(2);
  });

  it("each mode's stand-ins are the transformed reference", () => {
    const img = texture(3);
    expect(singleReferenceStandIns('refuse')).toBeUndefined();
    const flips = singleReferenceStandIns('flip')!(img);
    expect(flips.map((c) => Array.from(c.data))).toEqual([flipHorizontal(img), rotateQuarter(flipHorizontal(img), 2), rotateQuarter(img, 2)].map((c) => Array.from(c.data)));
    const turns = singleReferenceStandIns('rot90')!(img);
    expect(turns.map((c) => Array.from(c.data))).toEqual([1, 2, 3].map((q) => Array.from(rotateQuarter(img, q).data)));
  });
});

/** Texture of `seed` with every value raised by `lift`: patches another reference's do not match. */
function lifted(seed: number, lift: number): RgbImage {
  const img = texture(seed);
  return { ...img, data: img.data.map((v) => Math.min(255, v + lift)) };
}

describe('fewshot.stand_ins_max_k', () => {
  const flip = singleReferenceStandIns('flip');
  const two = () => [texture(1), lifted(2, 80)];

  it('k = 2 gets every reference\'s stand-ins only when the key reaches 2', async () => {
    expect((await prepareMemoryBank(twoScales, two(), { map, single: flip, standInsMaxK: 1 })).standIns).toBe(0);
    const on = await prepareMemoryBank(twoScales, two(), { map, single: flip, standInsMaxK: 2 });
    expect(on.standIns).toBe(6);
    expect(on.referenceCount).toBe(8);
    expect((await prepareMemoryBank(twoScales, [...two(), texture(3)], { map, single: flip, standInsMaxK: 2 })).standIns).toBe(0);
    expect((await prepareMemoryBank(twoScales, two(), { map, standInsMaxK: 2 })).standIns).toBe(0);
  });

  it('the leave-one-out scores come from all eight images, none scored against its own reference\'s', async () => {
    const without = await prepareMemoryBank(twoScales, two(), { map, single: flip, standInsMaxK: 1 });
    const withStandIns = await prepareMemoryBank(twoScales, two(), { map, single: flip, standInsMaxK: 2 });
    expect(withStandIns.referenceScores.length).toBe(4 * without.referenceScores.length);
    const { categoryThreshold } = fewshotCategoryFromBank(withStandIns, options);
    const above = (m: Float32Array) => m.filter((x) => x > categoryThreshold!).length / m.length;
    expect(above(await scoreQuery(twoScales, withStandIns, texture(7)))).toBeLessThan(0.02);
    expect(above(await scoreQuery(twoScales, withStandIns, texture(8, true)))).toBeGreaterThan(0.02);
  });

  it('stand-ins that are exact copies leave k = 2\'s leave-one-out statistics as they are (a copy finds only the other reference), while at k = 1 the copy is all there is', async () => {
    const copy = (r: RgbImage) => [{ ...r, data: r.data.slice() }];
    const plain = await prepareMemoryBank(twoScales, two(), { map });
    const copied = await prepareMemoryBank(twoScales, two(), { map, single: copy, standInsMaxK: 2 });
    expect(copied.standIns).toBe(2);
    copied.scales.forEach((b, s) => {
      expect(plain.scales[s].norm!.mean).toBeGreaterThan(0.01);
      expect(b.norm!.mean).toBeCloseTo(plain.scales[s].norm!.mean, 6);
    });
    const single = await prepareMemoryBank(twoScales, [texture(1)], { map, single: copy });
    single.scales.forEach((b) => expect(b.norm!.mean).toBeCloseTo(0, 6));
  });

  it('the bank keeps the rows of four references, with and without a coreset', async () => {
    const half: CoresetSettings = { fraction: 0.5, minRows: 0, scope: 'reference', projection: 4, seed: 0 };
    const perImage = [SIDE * SIDE, (SIDE / 2) * (SIDE / 2)];
    for (const coreset of [NO_CORESET, half]) {
      const four = await prepareMemoryBank(twoScales, [1, 2, 3, 4].map((i) => texture(i)), { map, coreset });
      const bank = await prepareMemoryBank(twoScales, two(), { map, coreset, single: flip, standInsMaxK: 2 });
      bank.scales.forEach((b, s) => {
        expect(b.rows).toBe(8 * perImage[s]);
        expect(b.kept).toBe(four.scales[s].kept);
      });
    }
  });

  it('standInCoreset leaves banks of at most max(k, 4) images alone and gives each image its share of that many', () => {
    const c: CoresetSettings = { fraction: 0.1, minRows: 8192, scope: 'reference', projection: 64, seed: 0 };
    expect(standInCoreset(c, 1, 4, 4 * 4096)).toBe(c);
    expect(standInCoreset(c, 8, 8, 8 * 4096)).toBe(c);
    // 8 images of 4096 rows: four would have 16384 >= 8192 rows, so the coreset applies at half the fraction.
    expect(standInCoreset(c, 2, 8, 8 * 4096)).toEqual({ ...c, fraction: 0.05, minRows: 0 });
    // 8 images of 1600 rows (mobilenetv2): four keep all their 6400 rows, so each image keeps half.
    expect(standInCoreset(c, 2, 8, 8 * 1600)).toEqual({ ...c, fraction: 0.5, minRows: 0 });
  });
});
