/**
 * Magnetic tile defects (MTD), native layout: `MT_<Defect>/Imgs/<name>.jpg` with a same-name `.png`
 * mask beside it; `MT_Free` holds the normal tiles. The dataset is one category, named 'mtd' whatever
 * its folder is called (the redistributed folder names vary). There is no train split: every image is
 * recorded as 'test'. Defect types are the folder suffixes as the dataset spells them ('Blowhole', ...).
 */
import { join } from 'node:path';
import type { DatasetProblem, Sample } from './types.js';
import { type Layout, missingMask } from './layout.js';
import { isDir, listDir, relIdOf, stem } from './walk.js';

export const MTD_CATEGORY = 'mtd';

async function mtdDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of (await listDir(root)).dirs) {
    if (/^MT_/.test(d) && (await isDir(join(root, d, 'Imgs')))) out.push(d);
  }
  return out;
}

export const mtdLayout: Layout = {
  name: 'mtd',
  expects: 'MTD: MT_<Defect>/Imgs/<name>.jpg with <name>.png masks, MT_Free normal',
  async detect(root) {
    return (await mtdDirs(root)).length > 0;
  },
  async load(root, opts) {
    const samples: Sample[] = [];
    const problems: DatasetProblem[] = [];
    for (const d of await mtdDirs(root)) {
      const normal = d === 'MT_Free';
      const defectType = normal ? 'good' : d.slice(3);
      const imgs = join(root, d, 'Imgs');
      const { files } = await listDir(imgs);
      const pngs = new Set(files.filter((f) => /\.png$/i.test(f)));
      for (const f of files) {
        // Images are the JPEGs; the PNGs beside them are the masks.
        if (!/\.jpe?g$/i.test(f)) continue;
        const imagePath = join(imgs, f);
        const base = { category: MTD_CATEGORY, split: 'test' as const, imagePath, relId: relIdOf(root, imagePath), defectType };
        if (normal) {
          samples.push({ ...base, maskPath: null, label: 'normal' });
          continue;
        }
        const mask = [`${stem(f)}.png`, `${stem(f)}.PNG`].find((m) => pngs.has(m));
        if (mask) samples.push({ ...base, maskPath: join(imgs, mask), label: 'anomalous' });
        else {
          problems.push(missingMask(imagePath, join(imgs, `${stem(f)}.png`)));
          if (opts.includeUnmasked) samples.push({ ...base, maskPath: null, label: 'anomalous' });
        }
      }
    }
    return { categories: samples.length ? [MTD_CATEGORY] : [], samples, problems };
  },
};
