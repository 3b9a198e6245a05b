/**
 * KolektorSDD (KSDD1), native layout: `kos<nn>/Part<k>.jpg` with `Part<k>_label.bmp`. A part is
 * anomalous when its label has a positive pixel, so loading reads every label (a fast in-place scan
 * for the usual 8-bit BMPs). One category, named 'ksdd1'; no train split, every part is 'test'.
 * relIds keep the kos folder: 'kos01/Part0'. The root may also be a single kos<nn> folder.
 */
import { basename, join } from 'node:path';
import pLimit from 'p-limit';
import { sampleFromLabel } from './label-scan.js';
import type { DatasetProblem, Sample } from './types.js';
import type { Layout } from './layout.js';
import { listDir, relIdOf, stem } from './walk.js';

export const KSDD1_CATEGORY = 'ksdd1';
const KOS = /^kos\d+$/i;
const LABEL = /_label\.(bmp|png)$/i;

async function kosDirs(root: string): Promise<{ base: string; dirs: string[] }> {
  if (KOS.test(basename(root))) return { base: join(root, '..'), dirs: [root] };
  const dirs = (await listDir(root)).dirs.filter((d) => KOS.test(d)).map((d) => join(root, d));
  return { base: root, dirs };
}

export const ksdd1Layout: Layout = {
  name: 'ksdd1',
  expects: 'KSDD1: kos<nn>/Part<k>.jpg with Part<k>_label.bmp',
  async detect(root) {
    for (const d of (await kosDirs(root)).dirs) {
      if ((await listDir(d)).files.some((f) => LABEL.test(f))) return true;
    }
    return false;
  },
  async load(root) {
    const { base, dirs } = await kosDirs(root);
    const samples: Sample[] = [];
    const problems: DatasetProblem[] = [];
    const limit = pLimit(4);
    const jobs: Promise<void>[] = [];
    for (const dir of dirs) {
      const { files } = await listDir(dir);
      const labels = new Map(files.filter((f) => LABEL.test(f)).map((f) => [stem(f).slice(0, -'_label'.length), f]));
      for (const f of files) {
        if (LABEL.test(f) || !/\.(jpe?g|png|bmp)$/i.test(f)) continue;
        const imagePath = join(dir, f);
        const label = labels.get(stem(f));
        if (!label) {
          problems.push({ kind: 'missing-mask', path: imagePath, message: `no ${stem(f)}_label.bmp beside the part; label unknown, part skipped` });
          continue;
        }
        const maskPath = join(dir, label);
        const sample = { category: KSDD1_CATEGORY, split: 'test' as const, imagePath, relId: relIdOf(base, imagePath) };
        jobs.push(
          limit(async () => {
            const s = await sampleFromLabel(sample, maskPath, problems);
            if (s) samples.push(s);
          }),
        );
      }
    }
    await Promise.all(jobs);
    return { categories: samples.length ? [KSDD1_CATEGORY] : [], samples, problems };
  },
};
