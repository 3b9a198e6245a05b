import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { referencePool, selectReferences } from '../../src/datasets/references.js';
import { loadDataset } from '../../src/datasets/index.js';
import type { DatasetIndex, Sample, Split, Label } from '../../src/datasets/types.js';
import { mulberry32, sampleWithoutReplacement } from '../../src/util/random.js';
import { UserError } from '../../src/util/errors.js';
import { describeWithShared, SHARED as SHARED_PATHS } from '../support/shared.js';

function sample(category: string, split: Split, label: Label, n: number): Sample {
  const type = label === 'normal' ? 'good' : 'crack';
  const relId = `${split}/${type}/${String(n).padStart(3, '0')}`;
  return { category, split, label, defectType: type, relId, imagePath: `/d/${category}/${relId}.png`, maskPath: label === 'normal' ? null : `/m/${relId}.png` };
}

function index(): DatasetIndex {
  const samples: Sample[] = [];
  for (let i = 0; i < 20; i++) samples.push(sample('withtrain', 'train', 'normal', i));
  for (let i = 0; i < 4; i++) samples.push(sample('withtrain', 'test', 'normal', i));
  for (let i = 0; i < 6; i++) samples.push(sample('testonly', 'test', 'normal', i));
  for (let i = 0; i < 6; i++) samples.push(sample('testonly', 'test', 'anomalous', i));
  samples.push(sample('nonormal', 'test', 'anomalous', 0));
  return { layout: 'mvtec', root: '/d', categories: ['nonormal', 'testonly', 'withtrain'], samples, problems: [] };
}

describe('selectReferences', () => {
  it('draws from train normals when the category has them, else from test normals', () => {
    const ix = index();
    const a = selectReferences(ix, 'withtrain', 10, 111);
    expect(a).toHaveLength(10);
    expect(a.every((s) => s.split === 'train' && s.label === 'normal' && s.category === 'withtrain')).toBe(true);
    expect(new Set(a.map((s) => s.relId)).size).toBe(10);
    const b = selectReferences(ix, 'testonly', 3, 111);
    expect(b.every((s) => s.split === 'test' && s.label === 'normal')).toBe(true);
    // The reference code's MVTec choice: test/good even though train/good exists.
    const c = selectReferences(ix, 'withtrain', 10, 111, { from: 'test' });
    expect(c.map((s) => s.relId).sort()).toEqual(['test/good/000', 'test/good/001', 'test/good/002', 'test/good/003']);
  });

  it('is deterministic for a seed, depends on the seed, and ignores the order of samples in the index', () => {
    const ix = index();
    const a = selectReferences(ix, 'withtrain', 5, 7).map((s) => s.relId);
    expect(selectReferences(ix, 'withtrain', 5, 7).map((s) => s.relId)).toEqual(a);
    expect(selectReferences(ix, 'withtrain', 5, 8).map((s) => s.relId)).not.toEqual(a);
    const reversed = { ...ix, samples: [...ix.samples].reverse() };
    expect(selectReferences(reversed, 'withtrain', 5, 7).map((s) => s.relId)).toEqual(a);
  });

  it('returns every normal when k exceeds the pool, and fails clearly when there is none', () => {
    const ix = index();
    expect(selectReferences(ix, 'testonly', 50, 1)).toHaveLength(6);
    expect(referencePool(ix, 'withtrain')).toHaveLength(20);
    expect(() => selectReferences(ix, 'nonormal', 3, 1)).toThrow(UserError);
    expect(() => selectReferences(ix, 'nonormal', 3, 1)).toThrow(/no normal train or test images/);
    expect(() => selectReferences(ix, 'zzz', 3, 1)).toThrow(/unknown category 'zzz'/);
  });
});

describe('mulberry32', () => {
  it('gives the same stream for the same seed, in [0,1), roughly uniform', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10000 }, () => a());
    expect(Array.from({ length: 10000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    const buckets = new Array(10).fill(0);
    for (const x of xs) buckets[Math.floor(x * 10)]++;
    expect(Math.min(...buckets)).toBeGreaterThan(850);
  });

  it('samples without replacement, every item reachable', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 50; seed++) {
      const s = sampleWithoutReplacement([0, 1, 2, 3, 4, 5, 6, 7], 3, mulberry32(seed));
      expect(new Set(s).size).toBe(3);
      s.forEach((v) => seen.add(v));
    }
    expect(seen.size).toBe(8);
  });
});

const SHARED = SHARED_PATHS.datasets;
describeWithShared('references on real samples', [SHARED], () => {
  it('hazelnut draws from train/good; MVTec capsule (no train) from test/good', async () => {
    const hz = await loadDataset(join(SHARED, 'hazelnut_toy'));
    const refs = selectReferences(hz, 'hazelnut', 10, 111);
    expect(refs).toHaveLength(10);
    expect(refs.every((s) => s.relId.startsWith('train/good/'))).toBe(true);
    const cap = await loadDataset(join(SHARED, 'mvtec_ad', 'capsule'));
    expect(selectReferences(cap, 'capsule', 10, 111).map((s) => s.relId).sort()).toEqual(
      cap.samples.filter((s) => s.label === 'normal').map((s) => s.relId),
    );
  });
});
