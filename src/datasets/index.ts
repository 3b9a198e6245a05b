/**
 * Entry point for datasets: detect a layout from a root folder and load it into the one uniform
 * `DatasetIndex`, so that no other code asks which dataset it reads.
 */
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { UserError } from '../util/errors.js';
import type { DatasetIndex, LayoutName, Sample } from './types.js';
import type { Layout, LoadOptions } from './layout.js';
import { listDir, sortProblems, sortSamples } from './walk.js';
import { uniqueRelIds } from './unique-ids.js';
import { mvtecLayout } from './mvtec.js';
import { btadLayout } from './btad.js';
import { mtdLayout } from './mtd.js';
import { ksdd1Layout } from './ksdd1.js';
import { ksdd2Layout } from './ksdd2.js';
import { dagmLayout } from './dagm.js';
import { visaLayout } from './visa.js';
import { folderLayout } from './folder.js';

export type { DatasetIndex, DatasetProblem, Label, LayoutName, Sample, Split } from './types.js';
export type { LoadOptions } from './layout.js';
export { selectReferences, referencePool } from './references.js';

/**
 * Detection order matters: the specific layouts first; BTAD before MVTec (a BTAD product also has
 * test/ and ground_truth/); a plain folder last.
 */
export const LAYOUTS: readonly Layout[] = [
  visaLayout,
  mtdLayout,
  ksdd1Layout,
  dagmLayout,
  ksdd2Layout,
  btadLayout,
  mvtecLayout,
  folderLayout,
];

export const LAYOUT_NAMES: readonly LayoutName[] = LAYOUTS.map((l) => l.name);

export function layoutByName(name: string): Layout {
  const layout = LAYOUTS.find((l) => l.name === name);
  if (!layout) throw new UserError(`unknown dataset layout '${name}' (known: ${LAYOUT_NAMES.join(', ')})`);
  return layout;
}

async function checkRoot(root: string): Promise<string> {
  const abs = resolve(root);
  const st = await stat(abs).catch(() => null);
  if (!st) throw new UserError(`dataset root not found: ${abs}`);
  if (!st.isDirectory()) throw new UserError(`dataset root is not a folder: ${abs}`);
  return abs;
}

/**
 * The layout of a dataset root (the folder holding the categories, or a single category folder).
 * Throws a UserError that lists what each layout expects when none matches.
 */
export async function detectLayout(root: string): Promise<LayoutName> {
  const abs = await checkRoot(root);
  for (const layout of LAYOUTS) if (await layout.detect(abs)) return layout.name;
  // A folder of datasets is a common mistake: name the sub-folders that would load.
  const hints: string[] = [];
  for (const d of (await listDir(abs)).dirs) {
    for (const layout of LAYOUTS) {
      if (layout.name !== 'folder' && (await layout.detect(join(abs, d)))) {
        hints.push(`${d} (${layout.name})`);
        break;
      }
    }
  }
  const hint = hints.length ? ` Sub-folders that look like datasets: ${hints.join(', ')}.` : '';
  throw new UserError(
    `no known dataset layout under ${abs}.${hint} Expected one of: ${LAYOUTS.map((l) => l.expects).join('; ')}`,
  );
}

/** The folder a sample's relId is relative to. */
export function categoryRootOf(s: Sample): string {
  const noExt = s.imagePath.slice(0, s.imagePath.length - extname(s.imagePath).length);
  return noExt.slice(0, noExt.length - s.relId.length - 1);
}

export interface LoadDatasetOptions extends LoadOptions {
  /** Skip detection and read the root as this layout. */
  layout?: LayoutName;
  /** Keep only these categories (an unknown name is an error). */
  categories?: string[];
}

/**
 * Loads every sample of a dataset root. Samples are sorted by category, split (train first) and relId;
 * problems (missing masks, orphan masks, ...) are listed rather than thrown. Anomalous images without
 * a mask are left out of `samples` unless `includeUnmasked`. relIds are unique within a category
 * (unique-ids.ts): images sharing one are renamed and reported.
 */
export async function loadDataset(root: string, opts: LoadDatasetOptions = {}): Promise<DatasetIndex> {
  const abs = await checkRoot(root);
  const layout = opts.layout ? layoutByName(opts.layout) : layoutByName(await detectLayout(abs));
  const loaded = await layout.load(abs, opts);
  if (loaded.samples.length === 0 && loaded.problems.length === 0) {
    throw new UserError(`no images found under ${abs} as layout '${layout.name}' (expected ${layout.expects})`);
  }
  let { categories } = loaded;
  const unique = uniqueRelIds(loaded.samples);
  let samples = unique.samples;
  let problems = [...loaded.problems, ...unique.problems];
  if (opts.categories?.length) {
    const unknown = opts.categories.filter((c) => !categories.includes(c));
    if (unknown.length) {
      throw new UserError(`unknown categor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')} in ${abs} (found: ${categories.join(', ')})`);
    }
    const keep = new Set(opts.categories);
    categories = categories.filter((c) => keep.has(c));
    samples = samples.filter((s) => keep.has(s.category));
    // Problems carry paths, not categories; keep those under a kept category's samples' folders.
    const roots = [...new Set(samples.map(categoryRootOf))];
    problems = problems.filter((p) => roots.some((d) => p.path.startsWith(d + sep)));
  }
  return {
    layout: layout.name,
    root: abs,
    categories: [...categories].sort(),
    samples: sortSamples(samples),
    problems: sortProblems(problems),
  };
}
