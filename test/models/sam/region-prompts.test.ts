import { describe, expect, it } from 'vitest';
import { labelComponents } from '../../../src/image/components.js';
import { regionCentralPoint, regionPrompts, sampleRegionPoints } from '../../../src/models/sam/region-prompts.js';
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

  it('builds b / bp / bps prompts, one per component, with tight inclusive boxes', () => {
    const b = regionPrompts(lab, ring.width, 'b');
    expect(b).toEqual([{ box: [0, 0, 4, 4] }, { box: [2, 6, 3, 6] }]);
    const bp = regionPrompts(lab, ring.width, 'bp');
    expect(bp[1].points).toHaveLength(1);
    const bps = regionPrompts(lab, ring.width, 'bps', { points: 20, random: mulberry32(3) });
    expect(bps[0].points).toHaveLength(16); // the ring has 16 pixels
    expect(() => regionPrompts(lab, ring.width, 'bps')).toThrow(/random/);
  });
});
