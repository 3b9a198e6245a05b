/**
 * Exposure matching (fewshot.exposure): an image whose gain and offset changed is mapped back to
 * its references' statistics, 'gain', 'quantile' and 'histogram' with one transform for all channels, 'channel' per channel;
 * the gain is bounded, and 'none' leaves the image alone.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/image/types.js';
import { exposureStats, exposureTransform, matchExposure, MAX_GAIN, referenceExposure } from '../../../src/methods/fewshot/exposure.js';
import { adjustBrightness } from '../../../src/synth/stress.js';
import { mulberry32 } from '../../../src/util/random.js';

/** A textured image whose values stay in 60..190, so a gain of 1.2 and an offset of 20 never clip. */
function texture(seed: number, w = 48, h = 40, tint: [number, number, number] = [1, 0.9, 0.75]): RgbImage {
  const rng = mulberry32(seed);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const g = 80 + 100 * rng();
    for (let c = 0; c < 3; c++) data[3 * i + c] = Math.round(g * tint[c]);
  }
  return { width: w, height: h, data };
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('exposure matching', () => {
  it('pools statistics over images as over one image holding all their pixels', () => {
    const a = texture(1);
    const b = texture(2, 48, 20);
    const joined: RgbImage = { width: 48, height: 60, data: new Uint8Array([...a.data, ...b.data]) };
    const pooled = exposureStats([a, b]);
    const one = exposureStats([joined]);
    for (let c = 0; c < 3; c++) {
      expect(pooled.mean[c]).toBeCloseTo(one.mean[c], 9);
      expect(pooled.std[c]).toBeCloseTo(one.std[c], 9);
    }
    expect(pooled.allStd).toBeCloseTo(one.allStd, 9);
  });

  it("'gain' undoes a change of gain and offset to within the rounding of both", () => {
    const ref = texture(3);
    const target = exposureStats([ref]);
    for (const [gain, bias] of [[1.2, 20], [0.75, -15], [1.1, -25]]) {
      const changed = adjustBrightness(ref, gain, bias);
      expect(maxAbsDiff(changed.data, ref.data)).toBeGreaterThan(15);
      const back = matchExposure(changed, target, 'gain');
      expect(maxAbsDiff(back.data, ref.data)).toBeLessThanOrEqual(2);
    }
  });

  it("'gain' uses one transform for the three channels, so channel ratios survive; 'channel' matches each channel's mean and spread", () => {
    const ref = texture(4, 48, 40, [1, 0.9, 0.75]);
    const bluish = texture(5, 48, 40, [0.7, 0.85, 1]);
    const target = exposureStats([ref]);
    const t = exposureTransform(exposureStats([bluish]), target, 'gain');
    expect(t[1]).toEqual(t[0]);
    expect(t[2]).toEqual(t[0]);
    // The blue cast stays under 'gain' ...
    const g = exposureStats([matchExposure(bluish, target, 'gain')]);
    expect(g.mean[2]).toBeGreaterThan(g.mean[0] + 10);
    // ... and is transferred away under 'channel'.
    const c = exposureStats([matchExposure(bluish, target, 'channel')]);
    for (let k = 0; k < 3; k++) {
      expect(Math.abs(c.mean[k] - target.mean[k])).toBeLessThan(0.6);
      expect(Math.abs(c.std[k] - target.std[k])).toBeLessThan(0.6);
    }
  });

  it("'quantile' undoes a change of gain and offset too, and a small dark defect moves it less than it moves 'gain'", () => {
    const ref = texture(10, 64, 64);
    const target = exposureStats([ref]);
    const changed = adjustBrightness(ref, 1.2, 20);
    expect(maxAbsDiff(matchExposure(changed, target, 'quantile').data, ref.data)).toBeLessThanOrEqual(4);
    // 3 % of the pixels turned black: 'gain' (mean and spread) stretches the rest away from the reference.
    const spotted = { ...ref, data: ref.data.slice() };
    for (let y = 0; y < 11; y++) for (let x = 0; x < 11; x++) spotted.data.fill(0, 3 * (y * 64 + x), 3 * (y * 64 + x) + 3);
    // How far each moves the untouched pixels, which should stay as they are.
    const moved = (mode: 'gain' | 'quantile') => {
      const out = matchExposure(spotted, target, mode).data;
      let sum = 0;
      for (let i = 0; i < out.length; i++) if (spotted.data[i] !== 0) sum += Math.abs(out[i] - spotted.data[i]);
      return sum / out.length;
    };
    expect(moved('quantile')).toBeLessThan(moved('gain') / 2);
  });

  it("'histogram' maps an image onto itself unchanged, undoes a gain and offset, and places clipped shadows where the references have them", () => {
    const ref = texture(11, 64, 64);
    const target = exposureStats([ref]);
    expect(maxAbsDiff(matchExposure(ref, target, 'histogram').data, ref.data)).toBeLessThanOrEqual(1);
    expect(maxAbsDiff(matchExposure(adjustBrightness(ref, 0.8, 25), target, 'histogram').data, ref.data)).toBeLessThanOrEqual(3);
    // An offset of -90 clips the darkest values to 0; the matched image's mean and spread are the reference's again.
    const clipped = adjustBrightness(ref, 1, -90);
    const before = exposureStats([clipped]);
    expect(before.histogram[0]).toBeGreaterThan(0.05);
    const after = exposureStats([matchExposure(clipped, target, 'histogram')]);
    expect(Math.abs(after.allMean - target.allMean)).toBeLessThan(2);
    expect(Math.abs(after.allStd - target.allStd)).toBeLessThan(2);
  });

  it("'range' leaves an image exposed like a reference alone and moves one outside only to the range's edge", () => {
    const refs = [texture(20), adjustBrightness(texture(21), 1, 10), adjustBrightness(texture(22), 1, -10)];
    const target = referenceExposure(refs);
    for (const r of refs) expect(matchExposure(r, target, 'range').data).toEqual(r.data);
    const bright = adjustBrightness(texture(23), 1, 40);
    const moved = exposureStats([matchExposure(bright, target, 'range')]);
    expect(Math.abs(moved.allMean - target.range!.mean[1])).toBeLessThan(1);
    expect(moved.allMean).toBeLessThan(exposureStats([bright]).allMean - 20);
  });

  it('bounds the gain, so a flat image keeps its noise at a bounded scale', () => {
    const rng = mulberry32(9);
    const flat: RgbImage = { width: 16, height: 16, data: Uint8Array.from({ length: 16 * 16 * 3 }, () => 120 + Math.round(rng())) };
    const t = exposureTransform(exposureStats([flat]), exposureStats([texture(6)]), 'gain');
    expect(t[0].a).toBe(MAX_GAIN);
    const dark = exposureTransform(exposureStats([texture(6)]), exposureStats([flat]), 'channel');
    for (const x of dark) expect(x.a).toBe(1 / MAX_GAIN);
  });

  it("'none' returns the image itself", () => {
    const img = texture(7);
    expect(matchExposure(img, exposureStats([texture(8)]), 'none')).toBe(img);
  });
});
