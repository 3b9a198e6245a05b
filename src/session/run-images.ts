/**
 * A preset over plain image files (`iapas segment`): the images form one pseudo-category
 * 'input', the reference images are its normal references, and the run goes to `out` as any run
 * directory does.
 */
import { basename, extname, resolve } from 'node:path';
import { cacheOf, modelsDirOf } from '../config/locations.js';
import type { Config } from '../config/schema.js';
import type { Sample } from '../datasets/types.js';
import { getPreset } from '../methods/registry.js';
import { runPipeline, type RunSummary } from '../pipeline/runner.js';
import { UserError } from '../util/errors.js';

export const IMAGES_CATEGORY = 'input';

/** Plain images as samples of one pseudo-category; stems made unique so outputs never collide. */
export function imagesAsSamples(paths: string[], category: string, split: 'train' | 'test'): Sample[] {
  const seen = new Map<string, number>();
  return paths.map((p) => {
    const abs = resolve(p);
    let stem = basename(abs, extname(abs)).replace(/[^A-Za-z0-9_.-]/g, '_');
    const n = seen.get(stem) ?? 0;
    seen.set(stem, n + 1);
    if (n > 0) stem = `${stem}_${n}`;
    return { category, split, imagePath: abs, maskPath: null, label: 'normal', defectType: 'unknown', relId: stem };
  });
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
}

export async function runOnImages(req: ImagesRequest): Promise<{ run: RunSummary; tests: Sample[] }> {
  const { config } = req;
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
    const run = await runPipeline({
      pipeline,
      config,
      jobs: [{ category: IMAGES_CATEGORY, references: refs.slice(0, config.references.k), tests }],
      runDir: resolve(req.out),
      resume: req.resume,
      cache,
      signal: req.signal,
      quiet: req.quiet,
    });
    return { run, tests };
  } finally {
    await pipeline.dispose?.();
  }
}
