import { describe, expect, it } from 'vitest';
import { pickImages, spreadSample } from '../../src/tuning/spread-sample.js';

/** A listing as loaders give it: sorted by path, so the first ones are one category and one defect type. */
function listing(spec: Record<string, Record<string, number>>) {
  const out: Array<{ category: string; defectType: string; key: string }> = [];
  for (const [category, types] of Object.entries(spec)) {
    for (const [defectType, n] of Object.entries(types)) {
      for (let i = 0; i < n; i++) out.push({ category, defectType, key: `${category}/test/${defectType}/${String(i).padStart(3, '0')}` });
    }
  }
  return out;
}

const SET = listing({ bottle: { broken: 10, contamination: 10 }, cable: { bent: 5, cut: 5, missing: 5 }, screw: { scratch: 20 } });

describe('spreadSample', () => {
  it('covers every category before any gets a second image, and every defect type of a category before a repeat', () => {
    const three = spreadSample(SET, 3, 0);
    expect(new Set(three.map((s) => s.category))).toEqual(new Set(['bottle', 'cable', 'screw']));
    const eight = spreadSample(SET, 8, 0);
    const types = (c: string) => eight.filter((s) => s.category === c).map((s) => s.defectType);
    // 8 over 3 categories: 3, 3, 2 in some seeded order; a category with 3 images has them over its types.
    expect(new Set(types('cable')).size).toBe(Math.min(3, types('cable').length));
    expect(new Set(types('bottle')).size).toBe(Math.min(2, types('bottle').length));
    expect(eight.map((s) => s.category).sort()).not.toEqual(['bottle', 'bottle', 'bottle', 'bottle', 'bottle', 'bottle', 'bottle', 'bottle']);
    // The listing's first 8 are one category and one type: what spread sampling is for.
    expect(new Set(pickImages(SET, 8, 'first', 0).map((s) => `${s.category}/${s.defectType}`)).size).toBe(1);
  });

  it('is deterministic for a seed, independent of the input order, and a seed changes the pick', () => {
    const a = spreadSample(SET, 6, 3).map((s) => s.key);
    const b = spreadSample([...SET].reverse(), 6, 3).map((s) => s.key);
    expect(b).toEqual(a);
    const others = [4, 5, 6, 7].map((seed) => spreadSample(SET, 6, seed).map((s) => s.key).join());
    expect(others.some((o) => o !== a.join())).toBe(true);
  });

  it('returns distinct items, all of them when n is at least the listing, and n of them otherwise', () => {
    const all = spreadSample(SET, 1000, 1);
    expect(all.length).toBe(SET.length);
    expect(new Set(all.map((s) => s.key)).size).toBe(SET.length);
    const some = spreadSample(SET, 17, 1);
    expect(some.length).toBe(17);
    expect(new Set(some.map((s) => s.key)).size).toBe(17);
    // Uneven groups: a category whose types run out keeps giving its other types.
    const uneven = spreadSample(listing({ a: { x: 1, y: 6 } }), 5, 0);
    expect(uneven.filter((s) => s.defectType === 'x').length).toBe(1);
    expect(spreadSample(SET, 0, 0)).toEqual([]);
    expect(pickImages(SET, undefined, 'spread', 0).length).toBe(SET.length);
  });
});
