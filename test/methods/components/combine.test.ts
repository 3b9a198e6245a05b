import { describe, expect, it } from 'vitest';
import { combineMapWithMasks } from '../../../src/methods/components/combine.js';
import { clipMaskToBox, unionMask as unionMasks } from '../../../src/image/masks.js';

describe('combining the feature map with SAM masks', () => {
  it('clips a mask to its box grown by a margin', () => {
    const W = 10;
    const full = new Uint8Array(W * W).fill(1);
    const clipped = clipMaskToBox(full, W, W, [4, 4, 6, 6], 0.5);
    // pixels 4..6 (box width 2) grown by 1 on each side -> pixels 3..7, 5x5
    expect(clipped.reduce((a, v) => a + v, 0)).toBe(25);
    expect(clipped[3 * W + 3]).toBe(1);
    expect(clipped[2 * W + 2]).toBe(0);
    expect(clipMaskToBox(full, W, W, [4, 4, 6, 6]).reduce((a, v) => a + v, 0)).toBe(9);
  });

  it('raises pixels inside the union, keeps the order elsewhere, and leaves the map alone without masks', () => {
    const map = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    const union = unionMasks([Uint8Array.from([1, 0, 0, 0]), Uint8Array.from([0, 1, 0, 0])], 4);
    expect(Array.from(union)).toEqual([1, 1, 0, 0]);
    const out = combineMapWithMasks(map, union, 1);
    expect(Array.from(out).map((v) => +v.toFixed(4))).toEqual([0.2, 0.4, 0.3, 0.4]);
    expect(Array.from(combineMapWithMasks(map, null))).toEqual(Array.from(map));
  });
});
