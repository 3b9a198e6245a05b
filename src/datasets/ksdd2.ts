/**
 * KolektorSDD2: `{train,test}/<n>.png` with `<n>_GT.png` beside each image. Every image has a GT file;
 * an image is anomalous when its GT has a positive pixel, so loading reads every GT (small PNGs).
 * One category, named 'ksdd2'.
 */
import { join } from 'node:path';
import pLimit from 'p-limit';
import { sampleFromLabel } from './label-scan.js';
import type { DatasetProblem, Sample, Split } from './types.js';
import type { Layout } from './layout.js';
import { listDir, relIdOf, stem } from './walk.js';

export const KSDD2_CATEGORY = 'ksdd2';
const GT = /_GT\.png$/i;

async function hasGtFiles(dir: string): Promise<boolean> {
  return (await listDir(dir)).files.some((f) => GT.test(f));
}

export const ksdd2Layout: Layout = {
  name: 'ksdd2',
  expects: 'KSDD2: {train,test}/<n>.png with <n>_GT.png',
  async detect(root) {
    return (await hasGtFiles(join(root, 'train'))) || (await hasGtFiles(join(root, 'test')));
  },
  async load(root) {
    const samples: Sample[] = [];
    const problems: DatasetProblem[] = [];
    const limit = pLimit(4);
    const jobs: Promise<void>[] = [];
    for (const split of ['train', 'test'] as Split[]) {
      const dir = join(root, split);
      const { files } = await listDir(dir);
      const gts = new Map(files.filter((f) => GT.test(f)).map((f) => [stem(f).slice(0, -3), f]));
      for (const f of files) {
        if (GT.test(f) || !/\.(png|jpe?g|bmp)$/i.test(f)) continue;
        const imagePath = join(dir, f);
        const gt = gts.get(stem(f));
        const base = { category: KSDD2_CATEGORY, split, imagePath, relId: relIdOf(root, imagePath) };
        if (!gt) {
          // Without its GT the label is unknown, so the image is left out.
          problems.push({ kind: 'missing-mask', path: imagePath, message: `no ${stem(f)}_GT.png beside the image; label unknown, image skipped` });
          continue;
        }
        const maskPath = join(dir, gt);
        jobs.push(
          limit(async () => {
            const s = await sampleFromLabel(base, maskPath, problems);
            if (s) samples.push(s);
          }),
        );
      }
    }
    await Promise.all(jobs);
    return { categories: samples.length ? [KSDD2_CATEGORY] : [], samples, problems };
  },
};
