import { describe, expect, it } from 'vitest';
import { maxLogit } from '../../../src/models/sam/combine.js';
import type { SamMaskResult } from '../../../src/models/sam/model.js';
import { minMaxNormalize, scoreMap, unionMask as unionOfMasks } from '../../../src/image/masks.js';

const unionMask = (rs: SamMaskResult[], w: number, h: number) => unionOfMasks(rs.map((r) => r.mask), w * h);

const weightedMaskScore = (masks: Uint8Array[], scores: number[], w: number, h: number) => minMaxNormalize(scoreMap(masks, scores, w, h));

const result = (logits: number[]): SamMaskResult => ({
  width: 2,
  height: 2,
  logits: Float32Array.from(logits),
  mask: Uint8Array.from(logits.map((v) => (v > 0 ? 1 : 0))),
  iou: 0.9,
  lowRes: new Float32Array(256 * 256),
});

describe('combining SAM masks', () => {
  const a = result([3, -2, -5, 0.5]);
  const b = result([-1, 4, -6, -0.5]);

  it('unions masks and takes the largest logit per pixel', () => {
    expect(Array.from(unionMask([a, b], 2, 2))).toEqual([1, 1, 0, 1]);
    expect(Array.from(maxLogit([a, b], 2, 2))).toEqual([3, 4, -5, 0.5]);
    expect(Array.from(maxLogit([a, b], 2, 2)).map((v) => (v > 0 ? 1 : 0))).toEqual(Array.from(unionMask([a, b], 2, 2)));
    expect(Array.from(unionMask([], 2, 2))).toEqual([0, 0, 0, 0]);
    expect(Array.from(maxLogit([], 2, 2))).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
  });

  it('sums score-weighted masks and min-max normalises per image', () => {
    const m1 = Uint8Array.from([1, 1, 0, 0]);
    const m2 = Uint8Array.from([0, 1, 1, 0]);
    const s = weightedMaskScore([m1, m2], [0.5, 0.25], 2, 2);
    // raw: [0.5, 0.75, 0.25, 0] -> / 0.75
    expect(Array.from(s).map((v) => +v.toFixed(6))).toEqual([0.666667, 1, 0.333333, 0]);
    expect(Array.from(weightedMaskScore([Uint8Array.from([1, 1, 1, 1])], [0.7], 2, 2))).toEqual([0, 0, 0, 0]);
    expect(() => weightedMaskScore([m1], [1, 2], 2, 2)).toThrow(/scores/);
  });
});
