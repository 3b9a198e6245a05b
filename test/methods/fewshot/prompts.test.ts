import { describe, expect, it } from 'vitest';
import { clipMaskToBox, combineMapWithMasks } from '../../../src/methods/fewshot/combine.js';
import { unionMask as unionMasks } from '../../../src/image/masks.js';
import { promptsFromMask } from '../../../src/methods/fewshot/prompts.js';

function scene(width: number, height: number, rects: Array<[number, number, number, number, number]>) {
  const map = new Float32Array(width * height);
  for (const [x0, y0, x1, y1, v] of rects) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) map[y * width + x] = v;
  return map;
}

describe('promptsFromMask', () => {
  it('gives one box + peak point per component, highest peak first, small ones dropped', () => {
    const W = 20;
    const H = 10;
    const map = scene(W, H, [
      [1, 1, 5, 4, 0.6],
      [10, 2, 16, 9, 0.8],
      [18, 0, 19, 1, 0.9], // one pixel: below minArea
    ]);
    map[3 * W + 12] = 0.95; // the peak of the second region, off its centre
    const mask = Uint8Array.from(map, (v) => (v > 0.5 ? 1 : 0));
    const prompts = promptsFromMask(mask, map, W, H, { minArea: 2 });
    expect(prompts).toHaveLength(2);
    expect(prompts[0].box).toEqual([10, 2, 16, 9]);
    expect(prompts[0].point).toEqual([12.5, 3.5]);
    expect(prompts[0].area).toBe(42);
    expect(prompts[1].box).toEqual([1, 1, 5, 4]);
    expect(prompts[1].mean).toBeCloseTo(0.6);
    expect(promptsFromMask(mask, map, W, H, { minArea: 2, maxPrompts: 1 })).toHaveLength(1);
    expect(promptsFromMask(mask, map, W, H, { minAreaFraction: 0.1 })).toHaveLength(1);
  });

  it('joins diagonal neighbours (8-connectivity) and finds nothing in an empty mask', () => {
    const mask = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const map = Float32Array.from(mask);
    expect(promptsFromMask(mask, map, 3, 3)).toHaveLength(1);
    expect(promptsFromMask(new Uint8Array(9), map, 3, 3)).toHaveLength(0);
  });
});

describe('combining the feature map with SAM masks', () => {
  it('clips a mask to its box grown by a margin', () => {
    const W = 10;
    const full = new Uint8Array(W * W).fill(1);
    const clipped = clipMaskToBox(full, W, W, [4, 4, 6, 6], 0.5);
    // box 2x2 grown by 1 px on each side -> 4x4
    expect(clipped.reduce((a, v) => a + v, 0)).toBe(16);
    expect(clipped[3 * W + 3]).toBe(1);
    expect(clipped[2 * W + 2]).toBe(0);
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
