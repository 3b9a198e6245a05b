import { describe, expect, it } from 'vitest';
import { flattenConfig } from '../../src/util/flatten.js';

const config = { preset: 'fewshot', seed: 7, references: { k: 2, from: null }, eval: { resolution: 256, aupro: { limit: 0.3 } }, tags: ['a', 'b'], empty: {} };

describe('flattenConfig', () => {
  it('gives the leaves by dotted key as values (the sweep merges and hashes them)', () => {
    const flat = flattenConfig(config);
    expect(flat).toEqual({ preset: 'fewshot', seed: 7, 'references.k': 2, 'references.from': null, 'eval.resolution': 256, 'eval.aupro.limit': 0.3, tags: ['a', 'b'] });
    expect(flat.tags).toBe(config.tags); // arrays are leaves, not copied
  });

  it('or as JSON text (the report compares runs by it): the same keys, each value its JSON', () => {
    const values = flattenConfig(config);
    const text = flattenConfig(config, { json: true });
    expect(Object.keys(text)).toEqual(Object.keys(values));
    for (const [k, v] of Object.entries(values)) expect(text[k]).toBe(JSON.stringify(v));
    expect(flattenConfig({ a: 1 }, { json: true }).a).not.toBe(flattenConfig({ a: '1' }, { json: true }).a);
  });

  it('a value that is not an object has no keys', () => {
    expect(flattenConfig(3)).toEqual({});
    expect(flattenConfig(null, { json: true })).toEqual({});
  });
});
