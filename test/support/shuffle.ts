import { randomInt } from '../../src/util/random.js';

/** In-place seeded shuffle (Fisher-Yates): tests that an order does not change a result. */
export function shuffleInPlace<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}
