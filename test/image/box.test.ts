import { describe, expect, it } from 'vitest';
import { boxIou, clampBox, cxcywhToXyxy, nms } from '../../src/image/box.js';

describe('boxes', () => {
  it('converts normalised cxcywh to pixel xyxy', () => {
    expect(cxcywhToXyxy([0.5, 0.5, 0.2, 0.4], 200, 100)).toEqual([80, 30, 120, 70]);
    expect(cxcywhToXyxy([0.1, 0.9, 0.2, 0.2], 10, 10)).toEqual([0, 8, 2, 10]);
  });

  it('computes IoU by hand-worked cases', () => {
    expect(boxIou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(boxIou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150, 12);
    expect(boxIou([0, 0, 10, 10], [10, 10, 20, 20])).toBe(0);
    expect(boxIou([0, 0, 10, 10], [2, 2, 4, 4])).toBeCloseTo(4 / 100, 12);
  });

  it('NMS keeps by descending score and drops IoU > 0.5 only', () => {
    const dets = [
      { box: [0, 0, 10, 10], score: 0.6, id: 'a' },
      { box: [1, 0, 11, 10], score: 0.9, id: 'b' }, // IoU(a,b) = 90/110 = 0.818 -> a dropped
      { box: [20, 0, 30, 10], score: 0.5, id: 'c' }, // disjoint -> kept
      { box: [0, 0, 10, 10], score: 0.4, id: 'd' }, // IoU(b,d) = 0.818 -> dropped
      // IoU with c: overlap 10x10/ (100+200-100) = 0.5 exactly -> kept (not > 0.5)
      { box: [20, 0, 40, 10], score: 0.3, id: 'e' },
    ];
    expect(nms(dets, 0.5).map((d) => d.id)).toEqual(['b', 'c', 'e']);
    expect(nms(dets, 0.9).map((d) => d.id)).toEqual(['b', 'a', 'c', 'e']); // d duplicates a
  });

  it('clamps boxes to the image', () => {
    expect(clampBox([-5, 3, 250, 120], 200, 100)).toEqual([0, 3, 200, 100]);
  });
});
