import { describe, expect, it } from 'vitest';
import { labelComponents } from '../../../src/image/connected-components.js';
import { regionCentralPoint, regionPrompts, sampleRegionPoints } from '../../../src/methods/components/sam-region-prompts.js';
import { mulberry32 } from '../../../src/util/random.js';

const grid = (rows: string[]) => ({
  mask: Uint8Array.from(rows.join('').split('').map((c) => (c === '#' ? 1 : 0))),
  width: rows[0].length,
  height: rows.length,
});

describe('prompts from regions', () => {
  // A ring: its centroid (2,2) is a hole, outside the region.
  const ring = grid(['#####', '#...#', '#...#', '#...#', '#####', '.....', '..##.']);
  const lab = labelComponents(ring.mask, ring.width, ring.height);

  it('puts the single point inside the region even when the centroid is not', () => {
    const [x, y] = regionCentralPoint(lab.labels, ring.width, lab.components[0]);
    expect(lab.labels[y * ring.width + x]).toBe(1);
    // The nearest ring pixels to (2,2) are at distance 2; raster order picks (2,0).
    expect([x, y]).toEqual([2, 0]);
  });

  it('samples distinct in-region points, reproducibly for a seed, all pixels of a small region', () => {
    const c = lab.components[0];
    const a = sampleRegionPoints(lab.labels, ring.width, c, 5, mulberry32(7));
    const b = sampleRegionPoints(lab.labels, ring.width, c, 5, mulberry32(7));
    const d = sampleRegionPoints(lab.labels, ring.width, c, 5, mulberry32(8));
    expect(a).toEqual(b);
    expect(a).not.toEqual(d);
    expect(new Set(a.map((p) => p.join(','))).size).toBe(5);
    for (const [x, y] of a) expect(lab.labels[y * ring.width + x]).toBe(1);
    const small = sampleRegionPoints(lab.labels, ring.width, lab.components[1], 20, mulberry32(1));
    expect(small.map((p) => p.join(',')).sort()).toEqual(['2,6', '3,6']);
  });

  it('gives one prompt per component with a tight inclusive box and the policy\'s points', () => {
    const { mask, width, height } = ring;
    const b = regionPrompts(mask, width, height);
    expect(b.map((p) => [p.box, p.points, p.area])).toEqual([
      [[0, 0, 4, 4], [], 16],
      [[2, 6, 3, 6], [], 2],
    ]);
    expect(regionPrompts(mask, width, height, { point: 'central' })[0].points).toEqual([[2, 0]]);
    const bps = regionPrompts(mask, width, height, { point: 'sample', count: 20, random: mulberry32(3) });
    expect(bps[0].points).toHaveLength(16); // the ring has 16 pixels
    expect(() => regionPrompts(mask, width, height, { point: 'sample' })).toThrow(/random/);
    expect(() => regionPrompts(mask, width, height, { point: 'peak' })).toThrow(/map/);
  });

  it('with a map: peak point, peak and mean per region, highest peak first, small and surplus regions dropped', () => {
    const W = 20;
    const H = 10;
    const map = new Float32Array(W * H);
    const rect = (x0: number, y0: number, x1: number, y1: number, v: number) => {
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) map[y * W + x] = v;
    };
    rect(1, 1, 4, 3, 0.6);
    rect(10, 2, 15, 8, 0.8);
    rect(18, 0, 18, 0, 0.9); // one pixel: below minArea
    map[3 * W + 12] = 0.95; // the peak of the second region, off its centre
    const mask = Uint8Array.from(map, (v) => (v > 0.5 ? 1 : 0));
    const prompts = regionPrompts(mask, W, H, { point: 'peak', map, minArea: 2 });
    expect(prompts.map((p) => [p.box, p.points, p.area])).toEqual([
      [[10, 2, 15, 8], [[12, 3]], 42],
      [[1, 1, 4, 3], [[1, 1]], 12],
    ]);
    expect(prompts[0].peak).toBeCloseTo(0.95);
    expect(prompts[1].mean).toBeCloseTo(0.6);
    expect(regionPrompts(mask, W, H, { point: 'peak', map, minArea: 2, maxPrompts: 1 })).toHaveLength(1);
    expect(regionPrompts(mask, W, H, { map, minAreaFraction: 0.1 })).toHaveLength(1);
  });

  it('joins diagonal neighbours (8-connectivity) and finds nothing in an empty mask', () => {
    const mask = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(regionPrompts(mask, 3, 3)).toHaveLength(1);
    expect(regionPrompts(new Uint8Array(9), 3, 3)).toHaveLength(0);
  });
});
