/**
 * A plain folder of images for inference, searched recursively: one category named after the folder,
 * split 'test', no masks. Labels are unknown, so every image is recorded as 'normal' with defect type
 * 'unlabelled'; such an index is for `segment`, not for evaluation.
 */
import { realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DatasetProblem, Sample } from './types.js';
import type { Layout } from './layout.js';
import { isImageFile, listDir, relIdOf } from './walk.js';

interface Walk {
  out: string[];
  problems: DatasetProblem[];
  /** Real paths of the folders entered and of the images taken. */
  dirs: Set<string>;
  files: Set<string>;
}

/**
 * Depth first, files before sub-folders, both sorted. Linked folders are followed, but a folder
 * whose real path was already entered (a link to an ancestor: a cycle; or a second link to one
 * folder) is skipped, and a file whose real path was already taken is counted once, under the
 * first path that reached it.
 */
async function walkImages(dir: string, w: Walk, depth = 0): Promise<void> {
  if (depth > 16) return;
  const real = await realpath(dir).catch(() => dir);
  if (w.dirs.has(real)) {
    w.problems.push({ kind: 'other', path: dir, message: `links to ${real}, which is already read (a cycle or a second link); skipped` });
    return;
  }
  w.dirs.add(real);
  const { dirs, files } = await listDir(dir);
  for (const f of files) {
    if (!isImageFile(f)) continue;
    const p = join(dir, f);
    const rf = await realpath(p).catch(() => p);
    if (w.files.has(rf)) {
      w.problems.push({ kind: 'duplicate-name', path: p, message: `is ${rf}, already read under another path; counted once` });
      continue;
    }
    w.files.add(rf);
    w.out.push(p);
  }
  for (const d of dirs) await walkImages(join(dir, d), w, depth + 1);
}

export const folderLayout: Layout = {
  name: 'folder',
  expects: 'a plain folder with image files (for inference; no labels or masks)',
  async detect(root) {
    // Only a folder that holds images itself: a folder of folders is more likely a mistyped dataset root.
    return (await listDir(root)).files.some(isImageFile);
  },
  async load(root) {
    const w: Walk = { out: [], problems: [], dirs: new Set(), files: new Set() };
    await walkImages(root, w);
    const category = basename(root);
    const samples: Sample[] = w.out.map((imagePath) => ({
      category,
      split: 'test',
      imagePath,
      maskPath: null,
      label: 'normal',
      defectType: 'unlabelled',
      relId: relIdOf(root, imagePath),
    }));
    return { categories: samples.length ? [category] : [], samples, problems: w.problems };
  },
};
