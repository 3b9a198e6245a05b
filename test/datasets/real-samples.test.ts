/**
 * The loaders on the real dataset samples in ../shared/datasets, with the counts its README states.
 */
import { expect, it } from 'vitest';
import { join } from 'node:path';
import { detectLayout, loadDataset } from '../../src/datasets/index.js';
import { summarise } from '../../src/datasets/summary.js';
import { loadImage, loadMask } from '../../src/image/io.js';
import { describeWithShared, SHARED as SHARED_PATHS } from '../support/shared.js';

const SHARED = SHARED_PATHS.datasets;

interface Expected {
  layout: string;
  category: string;
  anomalous: number;
  withMask: number;
  normal: number;
  trainNormal: number;
  defectTypes: string[];
}

const CASES: Array<[string, Expected]> = [
  ['mpdd', { layout: 'mvtec', category: 'metal_plate', anomalous: 71, withMask: 71, normal: 20, trainNormal: 0, defectTypes: ['defect'] }],
  [
    'mtd',
    { layout: 'mtd', category: 'mtd', anomalous: 60, withMask: 60, normal: 40, trainNormal: 0, defectTypes: ['Blowhole', 'Break', 'Crack', 'Fray', 'Uneven'] },
  ],
  ['ksdd-derived', { layout: 'mvtec', category: 'kolektorsdd', anomalous: 52, withMask: 52, normal: 30, trainNormal: 0, defectTypes: ['defect'] }],
  ['hazelnut_toy/hazelnut', { layout: 'mvtec', category: 'hazelnut', anomalous: 17, withMask: 17, normal: 34, trainNormal: 28, defectTypes: ['colour'] }],
  ['mvtec_ad/capsule', { layout: 'mvtec', category: 'capsule', anomalous: 8, withMask: 8, normal: 5, trainNormal: 0, defectTypes: ['crack', 'poke', 'scratch', 'squeeze'] }],
  [
    'mvtec_ad/grid',
    { layout: 'mvtec', category: 'grid', anomalous: 11, withMask: 11, normal: 10, trainNormal: 7, defectTypes: ['bent', 'broken', 'glue', 'metal_contamination', 'thread'] },
  ],
  ['mvtec_ad/metal_nut', { layout: 'mvtec', category: 'metal_nut', anomalous: 8, withMask: 8, normal: 5, trainNormal: 0, defectTypes: ['bent', 'color', 'flip', 'scratch'] }],
];

describeWithShared('real dataset samples', [SHARED], () => {
  for (const [dir, e] of CASES) {
    it(`${dir}: ${e.anomalous} anomalous / ${e.normal} normal`, async () => {
      const root = join(SHARED, dir);
      expect(await detectLayout(root)).toBe(e.layout);
      const ix = await loadDataset(root);
      expect(ix.categories).toEqual([e.category]);
      expect(ix.problems).toEqual([]);
      const [c] = summarise(ix).categories;
      expect({
        anomalous: c.anomalous,
        withMask: c.anomalousWithMask,
        normal: c.normal,
        trainNormal: c.train.normal,
        defectTypes: c.defectTypes,
      }).toEqual({ anomalous: e.anomalous, withMask: e.withMask, normal: e.normal, trainNormal: e.trainNormal, defectTypes: e.defectTypes });
      for (const s of ix.samples) {
        expect(s.relId).not.toMatch(/\\|\.\w+$/);
        expect(s.label === 'normal').toBe(s.maskPath === null);
      }
    });
  }

  it('a folder of datasets is not a dataset, and the error names the sub-folders that are', async () => {
    await expect(detectLayout(SHARED)).rejects.toThrow(/Sub-folders that look like datasets: .*mpdd \(mvtec\), mtd \(mtd\)/);
  });

  it('mvtec_ad as a dataset root holds the three categories', async () => {
    const ix = await loadDataset(join(SHARED, 'mvtec_ad'));
    expect(ix.categories).toEqual(['capsule', 'grid', 'metal_nut']);
    expect(ix.samples).toHaveLength(13 + 21 + 13);
  });

  it('MTD: relIds keep the defect folder; masks match their images and are not empty', async () => {
    const ix = await loadDataset(join(SHARED, 'mtd'));
    const s = ix.samples.find((x) => x.label === 'anomalous')!;
    expect(s.relId).toMatch(/^MT_Blowhole\/Imgs\/[^/]+$/);
    const [img, mask] = await Promise.all([loadImage(s.imagePath), loadMask(s.maskPath!)]);
    expect([mask.width, mask.height]).toEqual([img.width, img.height]);
    expect(mask.data.some((v) => v === 1)).toBe(true);
  });
});
