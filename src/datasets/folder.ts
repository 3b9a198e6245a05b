/**
 * A plain folder of images for inference, searched recursively: one category named after the folder,
 * split 'test', no masks. Labels are unknown, so every image is recorded as 'normal' with defect type
 * 'unlabelled'; such an index is for `segment`, not for evaluation.
 */
import { basename, join } from 'node:path';
import type { Sample } from './types.js';
import type { Layout } from './layout.js';
import { isImageFile, listDir, relIdOf } from './walk.js';

async function walkImages(dir: string, out: string[], depth = 0): Promise<void> {
  if (depth > 16) return;
  const { dirs, files } = await listDir(dir);
  for (const f of files) if (isImageFile(f)) out.push(join(dir, f));
  for (const d of dirs) await walkImages(join(dir, d), out, depth + 1);
}

export const folderLayout: Layout = {
  name: 'folder',
  expects: 'a plain folder with image files (for inference; no labels or masks)',
  async detect(root) {
    // Only a folder that holds images itself: a folder of folders is more likely a mistyped dataset root.
    return (await listDir(root)).files.some(isImageFile);
  },
  async load(root) {
    const paths: string[] = [];
    await walkImages(root, paths);
    const category = basename(root);
    const samples: Sample[] = paths.map((imagePath) => ({
      category,
      split: 'test',
      imagePath,
      maskPath: null,
      label: 'normal',
      defectType: 'unlabelled',
      relId: relIdOf(root, imagePath),
    }));
    return { categories: samples.length ? [category] : [], samples, problems: [] };
  },
};
