/**
 * Per-category scale weights from the references' leave-one-out scores (fewshot.scale_weights):
 * the rule on synthetic statistics, and the memory-bank path on a stand-in backbone whose one
 * scale puts a false peak on every normal image.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/image/types.js';
import type { Backbone, FeatureGrid } from '../../../src/models/backbones/types.js';
import { prepareMemoryBank, scoreScales } from '../../../src/methods/fewshot/memory-bank.js';
import { scaleWeights } from '../../../src/methods/fewshot/scale-weights.js';
import { mulberry32 } from '../../../src/util/random.js';

describe('scaleWeights', () => {
  it("'equal' gives every scale 1", () => {
    expect(scaleWeights([[5, 6], [1, 1]], 'equal')).toEqual([1, 1]);
  });

  it("'loo-max' weighs a scale by 1 / the median reference maximum, rescaled to a mean of 1", () => {
    const tight = [1.1, 1.2, 1.0, 1.3];
    const spiky = [3, 2.5, 4, 3.5];
    const w = scaleWeights([tight, spiky], 'loo-max');
    expect(w[0]).toBeGreaterThan(w[1]);
    expect((w[0] + w[1]) / 2).toBeCloseTo(1, 12);
    expect(w[0] / w[1]).toBeCloseTo(3.25 / 1.15, 12);
    // Listing the scales in another order permutes the weights.
    expect(scaleWeights([spiky, tight], 'loo-max')).toEqual([w[1], w[0]]);
  });

  it('one outlying reference moves the median little, and maxima at or below 1 count as 1', () => {
    const a = scaleWeights([[1.2, 1.2, 1.3, 9], [2, 2, 2, 2]], 'loo-max');
    expect(a[0] / a[1]).toBeCloseTo(2 / 1.25, 12);
    expect(scaleWeights([[0.4, 0.9], [0.8, 1]], 'loo-max')).toEqual([1, 1]);
  });
});

/**
 * Two scales on a 48x48 grid: 'calm' is plain noise, 'spiky' gives each image one patch far from
 * every other (5 of 11520 reference patches: above the pooled q999, as a specular spot would be).
 */
const N = 48 * 48;

function standIn(): Backbone {
  const dim = 16;
  const grid = (scale: 'calm' | 'spiky', image: RgbImage): FeatureGrid => {
    const rnd = mulberry32(image.data[0] * 31 + (scale === 'calm' ? 1 : 2));
    const data = new Float32Array(N * dim);
    const spike = scale === 'spiky' ? Math.floor(rnd() * N) : -1;
    for (let p = 0; p < N; p++) for (let k = 0; k < dim; k++) data[p * dim + k] = (k === 0 ? 1 : 0) + 0.1 * (rnd() - 0.5) + (p === spike && k === 1 + (image.data[0] % 15) ? 3 : 0);
    return { data, gridWidth: 48, gridHeight: 48, dim, coverWidth: 96, coverHeight: 96 };
  };
  const names = ['calm', 'spiky'] as const;
  return { name: 'stand-in', scaleNames: names, id: async () => 'stand-in', extract: async (i) => grid('calm', i), extractScales: async (i) => names.map((s) => grid(s, i)) };
}

const image = (seed: number): RgbImage => {
  const data = new Uint8Array(96 * 96 * 3);
  data[0] = seed;
  return { width: 96, height: 96, data };
};

describe('scale weights in the memory bank', () => {
  it("lowers the scale whose normal images carry false peaks, and scales a query's scores by the weights", async () => {
    const refs = [1, 2, 3, 4, 5].map(image);
    const map = { workSize: 96, smoothSigma: 0 };
    const equal = await prepareMemoryBank(standIn(), refs, { map });
    const weighted = await prepareMemoryBank(standIn(), refs, { map, weighting: 'loo-max' });
    expect(equal.scales.map((s) => s.weight)).toEqual([1, 1]);
    const [calm, spiky] = weighted.scales.map((s) => s.weight);
    expect(calm).toBeGreaterThan(1);
    expect(spiky).toBeLessThan(1);
    const query = await standIn().extractScales(image(9));
    const a = await scoreScales(query, equal);
    const b = await scoreScales(await standIn().extractScales(image(9)), weighted);
    for (let s = 0; s < 2; s++) for (let i = 0; i < a[s].scores.length; i++) expect(b[s].scores[i]).toBeCloseTo(a[s].scores[i] * weighted.scales[s].weight, 5);
    // The references' own scores (the adaptive threshold's) are combined with the same weights: they differ.
    expect(Array.from(weighted.referenceScores)).not.toEqual(Array.from(equal.referenceScores));
  });
});
