import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectLayout, loadDataset } from '../../src/datasets/index.js';
import { parseDagmLabels } from '../../src/datasets/dagm.js';
import { summarise } from '../../src/datasets/summary.js';
import type { DatasetIndex } from '../../src/datasets/types.js';
import { UserError } from '../../src/util/errors.js';
import { buildBtad, buildDagm, buildDtd, buildKsdd1, buildKsdd2, buildVisa, writeImage, writeMask, writeText } from './tree-builders.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'iapas-layouts-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** 'category/split/label/defectType' -> count */
function counts(index: DatasetIndex): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of index.samples) {
    const k = `${s.category}/${s.split}/${s.label}/${s.defectType}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe('BTAD', () => {
  it('reads train/ok, test/{ok,ko} with .png and .bmp masks and reports the unmasked ko image', async () => {
    const root = join(tmp, 'btad');
    await buildBtad(root);
    expect(await detectLayout(root)).toBe('btad');
    const ix = await loadDataset(root);
    expect(ix.layout).toBe('btad');
    expect(ix.categories).toEqual(['01', '03']);
    expect(counts(ix)).toEqual({
      '01/train/normal/ok': 3,
      '01/test/normal/ok': 1,
      '01/test/anomalous/ko': 2,
      '03/train/normal/ok': 2,
      '03/test/normal/ok': 1,
      '03/test/anomalous/ko': 2,
    });
    const bmpMasked = ix.samples.find((s) => s.category === '03' && s.relId === 'test/ko/0001')!;
    expect(bmpMasked.maskPath).toBe(join(root, '03', 'ground_truth', 'ko', '0001.bmp'));
    expect(ix.problems).toEqual([
      expect.objectContaining({ kind: 'missing-mask', path: join(root, '03', 'test', 'ko', '0002.bmp') }),
    ]);
    // Nothing is silently normal: with includeUnmasked the image is anomalous without a mask.
    const all = await loadDataset(root, { includeUnmasked: true });
    const unmasked = all.samples.find((s) => s.imagePath.endsWith(join('03', 'test', 'ko', '0002.bmp')))!;
    expect(unmasked).toMatchObject({ label: 'anomalous', maskPath: null });
    // A single product folder is a root too.
    const one = await loadDataset(join(root, '01'));
    expect(one.categories).toEqual(['01']);
    expect(one.samples).toHaveLength(6);
  });
});

describe('KSDD1 native', () => {
  it('labels a part anomalous when its label BMP has a positive pixel', async () => {
    const root = join(tmp, 'KolektorSDD');
    await buildKsdd1(root);
    expect(await detectLayout(root)).toBe('ksdd1');
    const ix = await loadDataset(root);
    expect(ix.categories).toEqual(['ksdd1']);
    expect(counts(ix)).toEqual({ 'ksdd1/test/anomalous/defect': 2, 'ksdd1/test/normal/good': 3 });
    expect(ix.samples.map((s) => `${s.relId}:${s.label}`)).toEqual([
      'kos01/Part0:anomalous',
      'kos01/Part1:normal',
      'kos02/Part0:normal',
      'kos02/Part1:normal',
      'kos02/Part2:anomalous',
    ]);
    expect(ix.samples[0].maskPath).toBe(join(root, 'kos01', 'Part0_label.bmp'));
    expect(ix.samples[1].maskPath).toBeNull();
  });

  it('reports an unreadable label and skips its part instead of failing the dataset', async () => {
    const root = join(tmp, 'ksdd1-bad');
    await buildKsdd1(root);
    await writeText(join(root, 'kos02', 'Part1_label.bmp'), 'BM truncated');
    const ix = await loadDataset(root);
    expect(ix.samples).toHaveLength(4);
    expect(ix.problems).toEqual([expect.objectContaining({ kind: 'unreadable', path: join(root, 'kos02', 'Part1_label.bmp') })]);
  });
});

describe('KSDD2', () => {
  it('reads train/test with _GT masks, anomalous when the GT has a positive pixel (also 0/1 GTs)', async () => {
    const root = join(tmp, 'ksdd2');
    await buildKsdd2(root);
    expect(await detectLayout(root)).toBe('ksdd2');
    const ix = await loadDataset(root);
    expect(counts(ix)).toEqual({
      'ksdd2/train/normal/good': 2,
      'ksdd2/train/anomalous/defect': 1,
      'ksdd2/test/normal/good': 2,
      'ksdd2/test/anomalous/defect': 2,
    });
    expect(ix.samples.filter((s) => s.label === 'anomalous').map((s) => s.relId)).toEqual(['train/10001', 'test/20000', 'test/20002']);
    expect(ix.samples.every((s) => !s.relId.endsWith('_GT'))).toBe(true);
  });
});

describe('DAGM 2007', () => {
  it('parses Labels.txt', () => {
    const t = parseDagmLabels('1\n1\t0\t0001.PNG\t0\t\n2\t1\t0002.PNG\t0\t0002_label.PNG\n');
    expect(t.get('0001.PNG')).toEqual({ defective: false, labelFile: null });
    expect(t.get('0002.PNG')).toEqual({ defective: true, labelFile: '0002_label.PNG' });
    expect(t.size).toBe(2);
  });

  it('reads classes, splits and label files, and reports a defective image without label', async () => {
    const root = join(tmp, 'DAGM');
    await buildDagm(root);
    expect(await detectLayout(root)).toBe('dagm');
    const ix = await loadDataset(root);
    expect(ix.categories).toEqual(['Class1', 'Class2']);
    expect(counts(ix)).toEqual({
      'Class1/train/normal/good': 2,
      'Class1/train/anomalous/defect': 1,
      'Class1/test/normal/good': 1,
      'Class1/test/anomalous/defect': 1,
      'Class2/train/normal/good': 2,
      'Class2/test/normal/good': 1,
      'Class2/test/anomalous/defect': 1,
    });
    const a = ix.samples.find((s) => s.category === 'Class1' && s.relId === 'Train/0002')!;
    expect(a.maskPath).toBe(join(root, 'Class1', 'Train', 'Label', '0002_label.PNG'));
    expect(ix.problems).toEqual([expect.objectContaining({ kind: 'missing-mask', path: join(root, 'Class2', 'Test', '0002.PNG') })]);
  });
});

describe('VisA', () => {
  it('follows split_csv/1cls.csv, reads defect types from image_anno.csv', async () => {
    const root = join(tmp, 'VisA');
    await buildVisa(root);
    expect(await detectLayout(root)).toBe('visa');
    const ix = await loadDataset(root);
    expect(ix.categories).toEqual(['candle', 'pcb1']);
    expect(counts(ix)).toEqual({
      'candle/train/normal/good': 2,
      'candle/test/normal/good': 1,
      'candle/test/anomalous/chunk of wax missing,damaged corner': 1,
      'candle/test/anomalous/anomaly': 1,
      'pcb1/train/normal/good': 2,
      'pcb1/test/normal/good': 1,
      'pcb1/test/anomalous/anomaly': 2,
    });
    const s = ix.samples.find((x) => x.category === 'pcb1' && x.label === 'anomalous')!;
    expect(s.relId).toBe('Data/Images/Anomaly/000');
    expect(s.maskPath).toBe(join(root, 'pcb1', 'Data', 'Masks', 'Anomaly', '000.png'));
    expect(ix.problems).toEqual([]);
  });

  it('reads one object folder, and without the split file puts everything in test', async () => {
    const root = join(tmp, 'VisA');
    const one = await loadDataset(join(root, 'pcb1'));
    expect(one.categories).toEqual(['pcb1']);
    expect(one.samples).toHaveLength(5);
    const bare = join(tmp, 'visa-bare', 'cashew');
    await writeImage(join(bare, 'Data', 'Images', 'Normal', '0001.JPG'));
    await writeImage(join(bare, 'Data', 'Images', 'Anomaly', '000.JPG'));
    await writeMask(join(bare, 'Data', 'Masks', 'Anomaly', '000.png'), true);
    const ix = await loadDataset(join(tmp, 'visa-bare'));
    expect(counts(ix)).toEqual({ 'cashew/test/normal/good': 1, 'cashew/test/anomalous/anomaly': 1 });
    expect(ix.problems.map((p) => p.kind)).toEqual(['other']);
  });
});

describe('DTD-Synthetic (MVTec layout)', () => {
  it('reads train/good, test/{good,bad} and ground_truth/bad', async () => {
    const root = join(tmp, 'DTD-Synthetic');
    await buildDtd(root);
    expect(await detectLayout(root)).toBe('mvtec');
    const ix = await loadDataset(root);
    expect(ix.categories).toEqual(['Blotchy_099', 'Woven_001']);
    const sum = summarise(ix);
    expect(sum.categories.map((c) => [c.category, c.train.normal, c.test.normal, c.anomalous, c.anomalousWithMask])).toEqual([
      ['Blotchy_099', 4, 2, 3, 3],
      ['Woven_001', 4, 2, 3, 3],
    ]);
    // Train first, then test, each by relId.
    expect(ix.samples.slice(0, 5).map((s) => s.relId)).toEqual([
      'train/good/000',
      'train/good/001',
      'train/good/002',
      'train/good/003',
      'test/bad/000',
    ]);
    const only = await loadDataset(root, { categories: ['Woven_001'] });
    expect(only.categories).toEqual(['Woven_001']);
    expect(new Set(only.samples.map((s) => s.category))).toEqual(new Set(['Woven_001']));
    await expect(loadDataset(root, { categories: ['nope'] })).rejects.toThrow(/unknown category nope.*found: Blotchy_099, Woven_001/);
  });

  it('reports missing and orphan masks', async () => {
    const root = join(tmp, 'mvtec-broken', 'widget');
    await writeImage(join(root, 'test', 'good', '000.png'));
    await writeImage(join(root, 'test', 'crack', '000.png'));
    await writeImage(join(root, 'test', 'crack', '001.png'));
    await writeMask(join(root, 'ground_truth', 'crack', '000_mask.png'), true);
    await writeMask(join(root, 'ground_truth', 'crack', '007_mask.png'), true);
    const ix = await loadDataset(join(tmp, 'mvtec-broken'));
    expect(ix.samples.map((s) => s.relId)).toEqual(['test/crack/000', 'test/good/000']);
    expect(ix.problems.map((p) => [p.kind, p.path])).toEqual([
      ['orphan-mask', join(root, 'ground_truth', 'crack', '007_mask.png')],
      ['missing-mask', join(root, 'test', 'crack', '001.png')],
    ].sort((a, b) => (a[1] < b[1] ? -1 : 1)));
  });
});

describe('plain folder and detection errors', () => {
  it('reads a folder of images recursively, without labels', async () => {
    const root = join(tmp, 'shots');
    await writeImage(join(root, 'b.png'));
    await writeImage(join(root, 'a.jpg'));
    await writeImage(join(root, 'more', 'c.png'));
    expect(await detectLayout(root)).toBe('folder');
    const ix = await loadDataset(root);
    expect(ix.categories).toEqual(['shots']);
    expect(ix.samples.map((s) => s.relId)).toEqual(['a', 'b', 'more/c']);
    expect(ix.samples.every((s) => s.maskPath === null && s.split === 'test' && s.defectType === 'unlabelled')).toBe(true);
  });

  it('says what it expected when nothing matches', async () => {
    const root = join(tmp, 'empty-ish');
    await writeImage(join(root, 'sub', 'deeper', 'x.png'));
    const err = await detectLayout(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/no known dataset layout under .*empty-ish/);
    expect((err as Error).message).toContain('MT_<Defect>/Imgs');
    expect((err as Error).message).toContain('ground_truth/<defect>/<name>_mask.png');
    await expect(loadDataset(join(tmp, 'does-not-exist'))).rejects.toThrow(/dataset root not found/);
    await expect(loadDataset(root, { layout: 'mtd' })).rejects.toThrow(/no images found .* as layout 'mtd'/);
  });

  it('is deterministic: two loads give identical indexes', async () => {
    const a = await loadDataset(join(tmp, 'btad'));
    const b = await loadDataset(join(tmp, 'btad'));
    expect(b).toEqual(a);
  });
});
