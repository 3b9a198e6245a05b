/**
 * MVTec AD layout, shared by MPDD, DTD-Synthetic and MVTec-layout redistributions (e.g. KSDD1 or
 * MPDD copies): `<cat>/{train/good, test/<defect>, ground_truth/<defect>/<name>_mask.png}`.
 * `train/` may be absent. BTAD uses the same machinery with other folder names (btad.ts).
 */
import { basename, join } from 'node:path';
import type { DatasetProblem, Sample, Split } from './types.js';
import { type Layout, type LayoutLoad, type LoadOptions, missingMask } from './layout.js';
import { findByStem, isDir, listDir, listImages, relIdOf, stem } from './walk.js';

export interface MvtecLikeOptions extends LoadOptions {
  /** Folder names under train/ and test/ that hold normal images. */
  normalDirs: string[];
  /** Mask file stems to try for an image stem, in order. */
  maskStems: (imageStem: string) => string[];
  /** How masks are named, for messages. */
  maskPattern: string;
}

const SPLITS: Split[] = ['train', 'test'];

export async function loadMvtecLikeCategory(
  catRoot: string,
  category: string,
  opts: MvtecLikeOptions,
): Promise<{ samples: Sample[]; problems: DatasetProblem[] }> {
  const samples: Sample[] = [];
  const problems: DatasetProblem[] = [];
  const gtRoot = join(catRoot, 'ground_truth');
  const usedMasks = new Set<string>();
  const gtFiles = new Map<string, string[]>();
  for (const split of SPLITS) {
    const splitDir = join(catRoot, split);
    for (const type of (await listDir(splitDir)).dirs) {
      const typeDir = join(splitDir, type);
      const normal = opts.normalDirs.includes(type);
      for (const file of await listImages(typeDir)) {
        const imagePath = join(typeDir, file);
        const base = { category, split, imagePath, relId: relIdOf(catRoot, imagePath), defectType: type };
        if (normal) {
          samples.push({ ...base, maskPath: null, label: 'normal' });
          continue;
        }
        if (!gtFiles.has(type)) gtFiles.set(type, (await listDir(join(gtRoot, type))).files);
        const candidates = opts.maskStems(stem(file));
        const maskFile = findByStem(gtFiles.get(type)!, candidates);
        if (maskFile) {
          const maskPath = join(gtRoot, type, maskFile);
          usedMasks.add(maskPath);
          samples.push({ ...base, maskPath, label: 'anomalous' });
        } else {
          problems.push(missingMask(imagePath, join(gtRoot, type, `${candidates[0]}.*`)));
          if (opts.includeUnmasked) samples.push({ ...base, maskPath: null, label: 'anomalous' });
        }
      }
    }
  }
  for (const type of (await listDir(gtRoot)).dirs) {
    const files = gtFiles.get(type) ?? (await listDir(join(gtRoot, type))).files;
    for (const f of files) {
      const p = join(gtRoot, type, f);
      if (!usedMasks.has(p) && /\.(png|bmp|jpe?g|tiff?)$/i.test(f)) {
        problems.push({ kind: 'orphan-mask', path: p, message: 'mask without a matching test image' });
      }
    }
  }
  return { samples, problems };
}

/** A category folder holds `test/` with at least one sub-folder, and `ground_truth/` or `train/`. */
export async function isMvtecCategory(dir: string): Promise<boolean> {
  if ((await listDir(join(dir, 'test'))).dirs.length === 0) return false;
  return (await isDir(join(dir, 'ground_truth'))) || (await isDir(join(dir, 'train')));
}

/**
 * Resolves the categories of a root that is either one category folder or a folder of categories.
 * Returns [categoryName, categoryRoot] pairs, sorted.
 */
export async function categoryRoots(
  root: string,
  isCategory: (dir: string) => Promise<boolean>,
): Promise<Array<[string, string]>> {
  if (await isCategory(root)) return [[basename(root), root]];
  const out: Array<[string, string]> = [];
  for (const d of (await listDir(root)).dirs) {
    if (await isCategory(join(root, d))) out.push([d, join(root, d)]);
  }
  return out;
}

export async function loadMvtecLike(
  root: string,
  isCategory: (dir: string) => Promise<boolean>,
  opts: MvtecLikeOptions,
): Promise<LayoutLoad> {
  const cats = await categoryRoots(root, isCategory);
  const samples: Sample[] = [];
  const problems: DatasetProblem[] = [];
  for (const [name, dir] of cats) {
    const r = await loadMvtecLikeCategory(dir, name, opts);
    samples.push(...r.samples);
    problems.push(...r.problems);
  }
  return { categories: cats.map(([n]) => n), samples, problems };
}

export const mvtecLayout: Layout = {
  name: 'mvtec',
  expects:
    'MVTec AD / MPDD / DTD-Synthetic: <category>/{train/good, test/<defect>, ground_truth/<defect>/<name>_mask.png} (train/ optional)',
  async detect(root) {
    return (await categoryRoots(root, isMvtecCategory)).length > 0;
  },
  load(root, opts) {
    return loadMvtecLike(root, isMvtecCategory, {
      ...opts,
      normalDirs: ['good'],
      maskStems: (s) => [`${s}_mask`, s],
      maskPattern: '<name>_mask.png',
    });
  },
};
