/**
 * From a dataset index to the per-category work of a run: references for stage A (chosen as the
 * IAP-AS code chooses them, with the config's seed and k) and the test images for stage B.
 */
import type { BaseConfig } from '../config/schema.js';
import { selectReferences } from '../datasets/references.js';
import type { DatasetIndex } from '../datasets/types.js';
import { UserError } from '../util/errors.js';
import type { CategoryJob } from '../pipeline/runner.js';

export function selectCategories(index: DatasetIndex, wanted?: string[]): string[] {
  if (!wanted || wanted.length === 0) return index.categories;
  const unknown = wanted.filter((c) => !index.categories.includes(c));
  if (unknown.length) throw new UserError(`unknown categor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')}; ${index.root} has: ${index.categories.join(', ')}`);
  return wanted;
}

export function buildJobs(index: DatasetIndex, config: BaseConfig, categories: string[], opts: { needsReferences: boolean; excludeReferences?: boolean; limit?: number }): CategoryJob[] {
  return categories.map((category) => {
    const references = opts.needsReferences ? selectReferences(index, category, config.references.k, config.seed, { from: config.references.from }) : [];
    const shots = new Set(opts.excludeReferences ? references.map((r) => r.imagePath) : []);
    let tests = index.samples.filter((s) => s.category === category && s.split === 'test' && !shots.has(s.imagePath));
    if (opts.limit !== undefined && tests.length > opts.limit) tests = spread(tests, opts.limit);
    return { category, references, tests };
  });
}

/** n items evenly spaced over the list, so a limited run still sees every defect type and normals. */
export function spread<T>(items: T[], n: number): T[] {
  if (n <= 0) return [];
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step)]);
}
