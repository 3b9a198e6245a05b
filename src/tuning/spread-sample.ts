/**
 * Which N images of a listing a quick tuning run trains on. The listing's first N are usually one
 * category and one defect type (loaders sort by path), so a few images teach one look; `spread`
 * takes them round-robin over categories and, within each category, over its defect types, each
 * group's images in a seeded order, so N images cover as much of the set's variety as N allows.
 * Deterministic for (items, seed): the order of `items` does not matter, only their keys.
 */
import { mulberry32 } from '../util/random.js';

export const SAMPLINGS = ['first', 'spread'] as const;
export type Sampling = (typeof SAMPLINGS)[number];

export interface Groupable {
  category: string;
  defectType: string;
  /** A stable, unique name of the item (e.g. category/relId): fixes the seeded order. */
  key: string;
}

function seededShuffle<T>(items: T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Groups by a key, the groups in sorted key order (so the result does not depend on the input order). */
function groupBy<T>(items: T[], key: (t: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const g = m.get(k);
    if (g) g.push(t);
    else m.set(k, [t]);
  }
  return [...m.keys()].sort().map((k) => m.get(k)!);
}

/**
 * n items spread over categories, then defect types: round r takes, from each category in a
 * seeded order, one image of its next defect type (types cycled in a seeded order). Every
 * category gets an image before any gets a second; within a category every defect type before
 * any gets a second.
 */
export function spreadSample<T extends Groupable>(items: readonly T[], n: number, seed: number): T[] {
  const random = mulberry32((seed * 2246822519 + 0x5eed) >>> 0);
  const sorted = [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const categories = seededShuffle(groupBy(sorted, (t) => t.category), random).map((cat) =>
    seededShuffle(groupBy(cat, (t) => t.defectType), random).map((g) => seededShuffle(g, random)),
  );
  const turn = categories.map(() => 0);
  const out: T[] = [];
  const want = Math.min(Math.max(0, Math.floor(n)), items.length);
  while (out.length < want) {
    for (let c = 0; c < categories.length && out.length < want; c++) {
      const types = categories[c];
      // The next defect type of this category that still has an image.
      for (let tried = 0; tried < types.length; tried++) {
        const g = types[turn[c] % types.length];
        turn[c]++;
        const item = g.shift();
        if (item) {
          out.push(item);
          break;
        }
      }
    }
  }
  return out;
}

/** The first n (the listing's order) or n spread as above. */
export function pickImages<T extends Groupable>(items: readonly T[], n: number | undefined, sampling: Sampling, seed: number): T[] {
  if (n === undefined) return items.slice();
  return sampling === 'spread' ? spreadSample(items, n, seed) : items.slice(0, n);
}
