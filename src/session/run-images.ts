/**
 * A preset over plain image files (`iapas segment`): the images form one pseudo-category
 * 'input', the reference images are its normal references, and the run goes to `out` as any run
 * directory does.
 */
import { basename, dirname, extname, relative, resolve, sep } from 'node:path';
import { cacheOf, modelsDirOf } from '../config/locations.js';
import type { Sample } from '../datasets/types.js';
import { withRunLock } from '../run-directory/lock.js';
import { runPipeline, type RunSummary } from '../pipeline/runner.js';
import { UserError } from '../util/errors.js';
import { escapeRelPath } from '../util/file-names.js';
import { uniqueNames } from '../util/unique-names.js';
import { checkWritable } from '../util/writable.js';
import { type Config, getPreset } from '../methods/registry.js';

export const IMAGES_CATEGORY = 'input';

function commonDir(paths: string[]): string {
  if (paths.length === 0) return '/';
  let parts = dirname(paths[0]).split(sep);
  for (const p of paths.slice(1)) {
    const q = dirname(p).split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}

/**
 * Plain images as samples of one pseudo-category, each named (relId) by its file stem; images
 * whose stems are shared are named by their path relative to the inputs' common folder, without
 * and then with the extension (`a/x.jpg b/x.jpg c/x_1.jpg` -> `a/x`, `b/x`, `x_1`). Names are
 * unique and depend only on the set of inputs; the same file given twice is taken once.
 */
export function imagesAsSamples(paths: string[], category: string, split: 'train' | 'test'): Sample[] {
  const abs = [...new Set(paths.map((p) => resolve(p)))];
  const root = commonDir(abs);
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  const { names } = uniqueNames(abs, (p) => {
    const r = rel(p);
    return [basename(p, extname(p)), r.slice(0, r.length - extname(r).length), r];
  });
  return abs.map((imagePath, i) => ({ category, split, imagePath, maskPath: null, label: 'normal', defectType: 'unknown', relId: names[i] }));
}

/**
 * The stem under which `iapas segment` writes an image's map and pictures in its output folder,
 * beside the run directory's own files: the escaped relId, with a leading `maps/` or
 * `categories/` folder written `%6Daps/`, `%63ategories/` (never produced otherwise), so that no
 * picture lands on a run-directory file.
 */
export function segmentOutputStem(relId: string): string {
  const e = escapeRelPath(relId);
  const slash = e.indexOf('/');
  const first = slash < 0 ? '' : e.slice(0, slash);
  if (first !== 'maps' && first !== 'categories') return e;
  return `%${first.charCodeAt(0).toString(16).toUpperCase()}${e.slice(1)}`;
}

export interface ImagesRequest {
  config: Config;
  images: string[];
  /** Normal reference images: the few shots, or what RAM tags. */
  references: string[];
  out: string;
  resume?: boolean;
  signal?: AbortSignal;
  quiet?: boolean;
  /** Runs after the run, still holding the output folder's lock (e.g. to write pictures there). */
  afterRun?: (run: RunSummary, tests: Sample[]) => Promise<void>;
}

export async function runOnImages(req: ImagesRequest): Promise<{ run: RunSummary; tests: Sample[] }> {
  const { config } = req;
  await checkWritable(req.out, 'dir', '--out');
  if (req.images.length === 0) throw new UserError('no images to segment (images given after --refs are taken as references: put them before --refs or after --)');
  const cache = cacheOf(config);
  const pipeline = await getPreset(config.preset).build(config, { cache, modelsDir: modelsDirOf(config) });
  try {
    const refs = imagesAsSamples(req.references, IMAGES_CATEGORY, 'train');
    const needsRefs = pipeline.categoryStages.some((s) => s.reads.includes('references') || s.reads.includes('refImages'));
    if (needsRefs && refs.length === 0) {
      throw new UserError(
        pipeline.referencesAreShots
          ? `the ${config.preset} preset needs normal reference images: --refs <normal images>`
          : 'tagging needs normal reference images (--refs <images>), or give the object tag with --object-tag <tag>',
      );
    }
    const tests = imagesAsSamples(req.images, IMAGES_CATEGORY, 'test');
    return await withRunLock(req.out, { command: 'iapas segment', dirFlag: '--out' }, async (lock) => {
      const run = await runPipeline({
        pipeline,
        config,
        jobs: [{ category: IMAGES_CATEGORY, references: refs.slice(0, config.references.k), tests }],
        runDir: resolve(req.out),
        resume: req.resume,
        cache,
        signal: req.signal,
        quiet: req.quiet,
        lock,
        dirFlag: '--out',
        command: 'iapas segment',
      });
      await req.afterRun?.(run, tests);
      return { run, tests };
    });
  } finally {
    await pipeline.dispose?.();
  }
}
