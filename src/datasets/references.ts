/**
 * The normal reference images of a category (IAP-AS stage A, docs/method.md §1). The reference code draws
 * k = 10 normal images with Python's `random.seed(111); random.sample(...)`: from `test/good` for
 * MVTec AD and from `train/good` (BTAD `train/ok`) for MPDD, DTD-Synthetic and BTAD. Here the default
 * ('auto') takes the category's train normals when it has any, else its test normals; `from: 'test'`
 * reproduces the reference's MVTec choice. Sampling uses mulberry32 (src/util/random.ts) over the
 * pool sorted by relId, so a seed gives the same references on every machine; Python's Mersenne
 * Twister sequence is not reproduced, so the exact images differ from the reference's for seed 111.
 */
import { UserError } from '../util/errors.js';
import { mulberry32, sampleWithoutReplacement } from '../util/random.js';
import type { DatasetIndex, Sample, Split } from './types.js';
import { byCodeUnits } from './walk.js';

export type ReferenceSource = 'auto' | Split;

/** The pool the references are drawn from, sorted by relId. */
export function referencePool(index: DatasetIndex, category: string, from: ReferenceSource = 'auto'): Sample[] {
  const normals = index.samples.filter((s) => s.category === category && s.label === 'normal');
  const split: Split = from === 'auto' ? (normals.some((s) => s.split === 'train') ? 'train' : 'test') : from;
  return normals.filter((s) => s.split === split).sort((a, b) => byCodeUnits(a.relId, b.relId));
}

/**
 * k normal images of `category`, drawn without replacement with a seeded PRNG, in draw order.
 * Fewer than k normals available: all of them (in draw order). None: a UserError.
 */
export function selectReferences(
  index: DatasetIndex,
  category: string,
  k: number,
  seed: number,
  opts: { from?: ReferenceSource } = {},
): Sample[] {
  if (!index.categories.includes(category)) {
    throw new UserError(`unknown category '${category}' (found: ${index.categories.join(', ')})`);
  }
  const from = opts.from ?? 'auto';
  const pool = referencePool(index, category, from);
  if (pool.length === 0) {
    const where = from === 'auto' ? 'train or test' : from;
    throw new UserError(`category '${category}' has no normal ${where} images to use as references`);
  }
  return sampleWithoutReplacement(pool, k, mulberry32(seed));
}
