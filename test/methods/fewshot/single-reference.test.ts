/**
 * One normal reference (fewshot.single_reference): its stand-ins give the per-scale
 * normalisation and the adaptive threshold the leave-one-out scores one image cannot, with a
 * two-scale stand-in backbone on a noise texture. Without stand-ins the threshold is refused.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/image/types.js';
import { flipHorizontal, rotateQuarter } from '../../../src/image/warp.js';
import type { Backbone, FeatureGrid } from '../../../src/models/backbones/types.js';
import { singleReferenceStandIns } from '../../../src/methods/fewshot/augment.js';
import { fewshotCategoryFromBank, fewshotOptions } from '../../../src/methods/fewshot/algorithm.js';
import { prepareMemoryBank, scoreQuery } from '../../../src/methods/fewshot/memory-bank.js';
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
