import { describe, expect, it } from 'vitest';
import { distanceToSet, signedDistance } from '../../src/image/distance.js';
import { maskBox } from '../../src/image/masks.js';
import { maskIou } from '../../src/metrics/iou.js';

describe('distance transforms', () => {
  it('gives chamfer distances to the set: 1 per edge step, 4/3 per diagonal step', () => {
    // 5x3, one set pixel in the middle of the top row.
    const m = new Uint8Array(15);
    m[2] = 1;
    const d = distanceToSet(m, 5, 3);
    expect(Array.from(d.slice(0, 5))).toEqual([2, 1, 0, 1, 2]);
    expect(d[5 + 1]).toBeCloseTo(4 / 3, 6); // one diagonal step
    expect(d[10 + 0]).toBeCloseTo(8 / 3, 6); // two diagonal steps
    expect(d[10 + 2]).toBe(2);
  });

  it('signs the distance: positive inside (1 on the border), negative outside', () => {
    const w = 7;
    const m = new Uint8Array(w * 7);
    for (let y = 1; y <= 5; y++) for (let x = 1; x <= 5; x++) m[y * w + x] = 1;
    const s = signedDistance(m, w, 7);
    expect(s[1 * w + 1]).toBe(1); // border pixel
    expect(s[3 * w + 3]).toBe(3); // centre: 3 steps to the outside
    expect(s[0]).toBeCloseTo(-4 / 3, 6); // corner, one diagonal step from (1,1)
    expect(s[3 * w + 0]).toBe(-1);
    // The peak is the centre.
    expect(s.indexOf(Math.max(...s))).toBe(3 * w + 3);
  });

  it('caps the distance of an empty or full mask at width + height', () => {
    expect(Array.from(signedDistance(new Uint8Array(6), 3, 2))).toEqual(new Array(6).fill(-5));
    expect(Array.from(signedDistance(new Uint8Array(6).fill(1), 3, 2))).toEqual(new Array(6).fill(5));
  });
});

describe('mask helpers', () => {
  it('boxes a mask with inclusive corners, null when empty', () => {
    const m = new Uint8Array(20);
    m[1 * 5 + 1] = m[3 * 5 + 3] = 1;
    expect(maskBox(m, 5, 4)).toEqual([1, 1, 3, 3]);
    expect(maskBox(new Uint8Array(20), 5, 4)).toBeNull();
  });

  it('computes IoU, 1 for two empty masks', () => {
    expect(maskIou(Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([0, 1, 1, 0]))).toBeCloseTo(1 / 3, 12);
    expect(maskIou(new Uint8Array(4), new Uint8Array(4))).toBe(1);
  });
});
