import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/datasets/index.js';
import { loadMask, loadRgb } from '../../src/image/io.js';
import { flipHorizontal, rotateQuarter, warpMask, warpRgb } from '../../src/image/warp.js';
import { adjustBrightness, applyStress, blurRgb, drawStress, writeStressSet, type StressParams } from '../../src/synth/stress.js';
import { mulberry32 } from '../../src/util/random.js';
import { writeTinyMvtec } from '../support/fake-pipeline.js';

const P = (p: Partial<StressParams>): StressParams => ({ angle: 0, dx: 0, dy: 0, gain: 1, bias: 0, sigma: 0, ...p });

function noiseImage(w: number, h: number, seed = 1) {
  const rng = mulberry32(seed);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rng() * 256)) };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('stress transforms', () => {
  it('no rotation and no shift is the identity; a whole turn is too', () => {
    const img = noiseImage(9, 7);
    expect(warpRgb(img, P({}), [0, 0, 0]).data).toEqual(img.data);
    const turned = warpRgb(img, P({ angle: 360 }), [0, 0, 0]).data;
    let diff = 0;
    for (let i = 0; i < turned.length; i++) diff = Math.max(diff, Math.abs(turned[i] - img.data[i]));
    expect(diff).toBeLessThanOrEqual(1);
  });

  it('90 degrees on a square image moves each pixel exactly where a quarter turn puts it', () => {
    const n = 6;
    const img = noiseImage(n, n, 3);
    const out = warpRgb(img, P({ angle: 90 }), [0, 0, 0]);
    const other = warpRgb(img, P({ angle: -90 }), [0, 0, 0]);
    expect(out.data).not.toEqual(img.data);
    // Two opposite quarter turns of one image are each other's half turn away.
    const half = warpRgb(out, P({ angle: 180 }), [0, 0, 0]);
    expect(half.data).toEqual(other.data);
    // Every pixel value survives a quarter turn (only moved), and lands where the exact turn puts it.
    expect([...out.data].sort()).toEqual([...img.data].sort());
    expect(rotateQuarter(img, 1).data).toEqual(out.data);
    expect(rotateQuarter(img, -1).data).toEqual(other.data);
  });

  it('exact quarter turns swap the sides of a non-square image, four make the identity; two mirror images too', () => {
    const img = noiseImage(5, 3, 9);
    const q1 = rotateQuarter(img, 1);
    expect([q1.width, q1.height]).toEqual([3, 5]);
    // The top-right pixel of the source becomes the top-left one after a counter-clockwise turn.
    expect(Array.from(q1.data.subarray(0, 3))).toEqual(Array.from(img.data.subarray(4 * 3, 5 * 3)));
    expect(rotateQuarter(rotateQuarter(q1, 2), 1).data).toEqual(img.data);
    const f = flipHorizontal(img);
    expect(Array.from(f.data.subarray(0, 3))).toEqual(Array.from(img.data.subarray(4 * 3, 5 * 3)));
    expect(flipHorizontal(f).data).toEqual(img.data);
  });

  it('a shift moves pixels by whole pixels and fills what it uncovers', () => {
    const img = noiseImage(5, 4);
    const out = warpRgb(img, P({ dx: 2, dy: 1 }), [7, 8, 9]);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 5; x++) {
        const o = Array.from(out.data.subarray((y * 5 + x) * 3, (y * 5 + x) * 3 + 3));
        const src = x - 2 >= 0 && y - 1 >= 0 ? Array.from(img.data.subarray(((y - 1) * 5 + x - 2) * 3, ((y - 1) * 5 + x - 2) * 3 + 3)) : [7, 8, 9];
        expect(o).toEqual(src);
      }
    }
  });

  it("'reflect' continues the image mirrored at its edges instead of one colour", () => {
    const img = noiseImage(5, 4);
    const out = warpRgb(img, P({ dx: 2, dy: 0 }), 'reflect');
    const px = (im: { data: Uint8Array }, x: number, y: number) => Array.from(im.data.subarray((y * 5 + x) * 3, (y * 5 + x) * 3 + 3));
    for (let y = 0; y < 4; y++) {
      expect(px(out, 0, y)).toEqual(px(img, 1, y)); // source x = -2 mirrors to 1
      expect(px(out, 1, y)).toEqual(px(img, 0, y)); // source x = -1 mirrors to 0
      expect(px(out, 4, y)).toEqual(px(img, 2, y));
    }
  });

  it('a mask moves with its image: the warped defect square stays under the warped mask', () => {
    const w = 64;
    const data = new Uint8Array(w * w * 3).fill(40);
    const mask = new Uint8Array(w * w);
    for (let y = 10; y < 26; y++) for (let x = 30; x < 50; x++) (mask[y * w + x] = 1), data.fill(230, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const p = P({ angle: 37, dx: -5, dy: 4 });
    const img = warpRgb({ width: w, height: w, data }, p, [40, 40, 40]);
    const m = warpMask({ width: w, height: w, data: mask }, p);
    let area = 0;
    let bright = 0;
    for (let i = 0; i < w * w; i++) {
      if (!m.data[i]) continue;
      area++;
      if (img.data[i * 3] > 135) bright++;
    }
    expect(Math.abs(area - 16 * 20) / (16 * 20)).toBeLessThan(0.1);
    expect(bright / area).toBeGreaterThan(0.9);
  });

  it('brightness clamps to 0..255; blur keeps a flat image flat and smooths noise', () => {
    const img = noiseImage(16, 16);
    const b = adjustBrightness(img, 1.5, 30);
    for (let i = 0; i < img.data.length; i++) expect(b.data[i]).toBe(Math.min(255, Math.round(1.5 * img.data[i] + 30)));
    const flat = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90) };
    expect(blurRgb(flat, 2).data).toEqual(flat.data);
    const spread = (d: Uint8Array) => {
      const m = d.reduce((a, v) => a + v, 0) / d.length;
      return d.reduce((a, v) => a + (v - m) ** 2, 0) / d.length;
    };
    expect(spread(blurRgb(img, 1.5).data)).toBeLessThan(spread(img.data) / 4);
  });

  it('draws parameters within the options and per kind only what that kind varies', () => {
    const rng = mulberry32(5);
    for (let i = 0; i < 50; i++) {
      const r = drawStress('rotate', rng, 100, { maxAngle: 30, maxShift: 0.1 });
      expect(Math.abs(r.angle)).toBeLessThanOrEqual(30);
      expect(Math.abs(r.dx)).toBeLessThanOrEqual(10);
      expect(r).toMatchObject({ gain: 1, bias: 0, sigma: 0 });
      const b = drawStress('brightness', rng, 100);
      expect(b).toMatchObject({ angle: 0, dx: 0, dy: 0, sigma: 0 });
      expect(Math.abs(b.gain - 1)).toBeLessThanOrEqual(0.3);
      const s = drawStress('blur', rng, 1024);
      expect(s.sigma).toBeGreaterThanOrEqual(2);
      expect(s.sigma).toBeLessThanOrEqual(6);
    }
    const img = noiseImage(4, 4);
    expect(applyStress(img, null, P({})).image).toBe(img);
  });
});

describe('writeStressSet', () => {
  it('copies the references byte for byte, transforms the test images and their masks, and reads back as a dataset; same seed, same set', async () => {
    const root = await mkdtemp(join(tmpdir(), 'iapas-stress-'));
    dirs.push(root);
    await writeTinyMvtec(join(root, 'src'), 'widget', { anomalous: 2, normal: 1 });
    const source = await loadDataset(join(root, 'src'));
    const a = await writeStressSet(source, join(root, 'a'), 'rotate', 7);
    const b = await writeStressSet(source, join(root, 'b'), 'rotate', 7);
    expect(a.images.map((x) => x.params)).toEqual(b.images.map((x) => x.params));
    expect(a.images).toHaveLength(3);
    const stressed = await loadDataset(join(root, 'a'));
    expect(stressed.problems).toEqual([]);
    const trainA = stressed.samples.filter((s) => s.split === 'train');
    const trainSrc = source.samples.filter((s) => s.split === 'train');
    expect(trainA).toHaveLength(trainSrc.length);
    for (let i = 0; i < trainSrc.length; i++) expect(await readFile(trainA[i].imagePath)).toEqual(await readFile(trainSrc[i].imagePath));
    const anomalous = stressed.samples.filter((s) => s.label === 'anomalous');
    expect(anomalous).toHaveLength(2);
    for (const s of anomalous) {
      const rec = a.images.find((x) => x.path === s.imagePath)!;
      const src = source.samples.find((x) => x.imagePath === rec.source)!;
      const want = applyStress(await loadRgb(src.imagePath), await loadMask(src.maskPath!), rec.params);
      expect((await loadRgb(s.imagePath)).data).toEqual(want.image.data);
      expect((await loadMask(s.maskPath!)).data).toEqual(want.mask!.data);
    }
  });
});
