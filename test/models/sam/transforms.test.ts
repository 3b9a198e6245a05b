import { describe, expect, it } from 'vitest';
import {
  encodePrompt,
  LABEL_BOX_BOTTOM_RIGHT,
  LABEL_BOX_TOP_LEFT,
  LABEL_PADDING,
  resizedShape,
  toModelCoords,
} from '../../../src/models/sam/transforms.js';
import { clampBox } from '../../../src/image/box.js';
import { toEncoderTensor, SAM_PIXEL_MEAN, SAM_PIXEL_STD } from '../../../src/models/sam/preprocess.js';

describe('SAM coordinate transforms', () => {
  it('resizes the longest side to 1024 with int(x*scale + 0.5) rounding', () => {
    expect(resizedShape(1024, 1024)).toEqual({ width: 1024, height: 1024 });
    expect(resizedShape(512, 512)).toEqual({ width: 1024, height: 1024 });
    expect(resizedShape(1600, 1200)).toEqual({ width: 1024, height: 768 });
    // 700 * 1.024 = 716.8 -> 717; a plain floor would give 716.
    expect(resizedShape(700, 1000)).toEqual({ width: 717, height: 1024 });
    // 230 * (1024/1000) = 235.52 -> 236
    expect(resizedShape(1000, 230)).toEqual({ width: 1024, height: 236 });
  });

  it('scales x and y by the rounded new/old size separately', () => {
    const [x, y] = toModelCoords(700, 1000, 700, 1000);
    expect(x).toBeCloseTo(717, 6);
    expect(y).toBeCloseTo(1024, 6);
    expect(toModelCoords(256, 128, 512, 256)).toEqual([512, 256]);
  });

  it('encodes points first, then the box as labels 2 and 3, with no padding point', () => {
    const p = encodePrompt({ box: [10, 20, 30, 40], points: [[5, 6]], labels: [0] }, 512, 512);
    expect(p.count).toBe(3);
    expect(Array.from(p.coords)).toEqual([10, 12, 20, 40, 60, 80]);
    expect(Array.from(p.labels)).toEqual([0, LABEL_BOX_TOP_LEFT, LABEL_BOX_BOTTOM_RIGHT]);
  });

  it('appends the (0,0) padding point with label -1 when there is no box', () => {
    const p = encodePrompt({ points: [[100, 50], [1, 2]] }, 1024, 512);
    expect(p.count).toBe(3);
    expect(Array.from(p.coords)).toEqual([100, 50, 1, 2, 0, 0]);
    expect(Array.from(p.labels)).toEqual([1, 1, LABEL_PADDING]);
  });

  it('clamps and orders boxes, and rejects empty or inconsistent prompts', () => {
    expect(clampBox([-5, 30, 700, 10], 640, 480)).toEqual([0, 10, 640, 30]);
    expect(() => encodePrompt({}, 10, 10)).toThrow(/needs a box/);
    expect(() => encodePrompt({ points: [[1, 1]], labels: [1, 0] }, 10, 10)).toThrow(/labels/);
  });
});

describe('SAM encoder tensor', () => {
  const img = { width: 2, height: 1, data: Uint8Array.from([255, 0, 10, 20, 30, 40]) };

  it('normalises with SAM mean/std, CHW, zero padding right and bottom', () => {
    const t = toEncoderTensor(img, { normalised: true, size: 4 });
    expect(t.length).toBe(3 * 16);
    expect(t[0]).toBeCloseTo((255 - SAM_PIXEL_MEAN[0]) / SAM_PIXEL_STD[0], 5);
    expect(t[1]).toBeCloseTo((20 - SAM_PIXEL_MEAN[0]) / SAM_PIXEL_STD[0], 5);
    expect(t[16]).toBeCloseTo((0 - SAM_PIXEL_MEAN[1]) / SAM_PIXEL_STD[1], 5);
    expect(t[32 + 1]).toBeCloseTo((40 - SAM_PIXEL_MEAN[2]) / SAM_PIXEL_STD[2], 5);
    expect(t[2]).toBe(0);
    expect(t[4]).toBe(0);
  });

  it('for encoders that normalise inside, keeps 0-255 and pads with the mean (zero after normalisation)', () => {
    const t = toEncoderTensor(img, { normalised: false, size: 4 });
    expect(t[0]).toBe(255);
    expect(t[17]).toBe(30);
    expect(t[2]).toBeCloseTo(SAM_PIXEL_MEAN[0], 5);
    expect(t[16 + 15]).toBeCloseTo(SAM_PIXEL_MEAN[1], 5);
  });

  it('writes every value of a reused buffer, padding included, and refuses one of the wrong size', () => {
    for (const normalised of [true, false]) {
      const fresh = toEncoderTensor(img, { normalised, size: 4 });
      const dirty = new Float32Array(3 * 16).fill(Number.NaN);
      expect(toEncoderTensor(img, { normalised, size: 4 }, dirty)).toBe(dirty);
      expect(dirty).toEqual(fresh);
    }
    expect(() => toEncoderTensor(img, { normalised: true, size: 4 }, new Float32Array(47))).toThrow(/output buffer of 47 values/);
  });
});
