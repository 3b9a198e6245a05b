/**
 * Small file-system helpers shared by the dataset loaders. Listings are sorted by code units
 * (not locale), so every loader produces the same order on every machine.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import type { DatasetProblem, Sample } from './types.js';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp']);

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase()) && !name.startsWith('.');
}

export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Listing {
  dirs: string[];
  files: string[];
}

/** Names of the sub-folders and files of a folder, sorted; an absent folder lists as empty. */
export async function listDir(dir: string): Promise<Listing> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { dirs: [], files: [] };
    throw err;
  }
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      // Datasets are often linked into place; follow the link.
      const st = await stat(join(dir, e.name)).catch(() => null);
      isDir = !!st?.isDirectory();
      isFile = !!st?.isFile();
    }
    if (isDir) dirs.push(e.name);
    else if (isFile) files.push(e.name);
  }
  return { dirs: dirs.sort(byCodeUnits), files: files.sort(byCodeUnits) };
}

export async function isDir(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => null);
  return !!st?.isDirectory();
}

export async function isFile(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => null);
  return !!st?.isFile();
}

export async function listImages(dir: string): Promise<string[]> {
  return (await listDir(dir)).files.filter(isImageFile);
}

/** File name without its (last) extension. */
export function stem(name: string): string {
  const base = basename(name);
  const ext = extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

/** Path relative to the category root, without extension, with '/' separators. */
export function relIdOf(categoryRoot: string, imagePath: string): string {
  const rel = relative(categoryRoot, imagePath).split(sep).join('/');
  const ext = extname(rel);
  return ext ? rel.slice(0, -ext.length) : rel;
}

const SPLIT_ORDER = { train: 0, test: 1 } as const;

/** The one order of samples: category, split (train first), relId. */
export function sortSamples(samples: Sample[]): Sample[] {
  return samples.sort(
    (a, b) =>
      byCodeUnits(a.category, b.category) ||
      SPLIT_ORDER[a.split] - SPLIT_ORDER[b.split] ||
      byCodeUnits(a.relId, b.relId),
  );
}

export function sortProblems(problems: DatasetProblem[]): DatasetProblem[] {
  return problems.sort((a, b) => byCodeUnits(a.path, b.path) || byCodeUnits(a.kind, b.kind));
}

/** Finds, among files of a folder, the first whose stem is one of the candidates (in candidate order). */
export function findByStem(files: string[], candidates: string[]): string | undefined {
  const byStem = new Map<string, string>();
  for (const f of files) if (isImageFile(f) && !byStem.has(stem(f))) byStem.set(stem(f), f);
  for (const c of candidates) {
    const hit = byStem.get(c);
    if (hit) return hit;
  }
  return undefined;
}
