/**
 * Whether a finished run directory still describes its inputs: the question `iapas run --resume`
 * asks of each image before it keeps its map (runner.ts), asked of a whole finished run so that a
 * caller that keeps finished runs (a resumed sweep) keeps only those computed from what is on disk
 * now. Nothing is written: the answer is the first difference found, or null.
 *
 * Compared, per test image of the run's selection: the image file, its mask (the evaluation reads
 * it), the category's reference files and the model files, each against the sha256 its record
 * holds; and the selection itself against what was evaluated (an image added to or removed from
 * the dataset changes the metrics).
 */
import { resolve } from 'node:path';
import { cacheOf, modelsDirOf } from '../config/locations.js';
import { loadDataset } from '../datasets/index.js';
import type { DatasetIndex } from '../datasets/types.js';
import { imageFileHash } from '../image/io.js';
import { buildJobs, selectCategories } from './jobs.js';
import type { RunResources } from '../pipeline/resources.js';
import { RunDir } from '../run-directory/run-dir.js';
import { staleReason } from '../pipeline/runner.js';
import { hashJson } from '../util/hash.js';
import { type Config, getPreset } from '../methods/registry.js';

export interface RunInputsRequest {
  config: Config;
  dataset: string;
  categories?: string[];
  limit?: number;
  runDir: string;
  /** Test images per category the run's evaluation counted (its metrics' n_images). */
  evaluated: Record<string, number>;
  index?: DatasetIndex;
  resources?: RunResources;
  /** File hashes shared between calls that look at the same files (one per sweep resume). */
  hashes?: Map<string, Promise<string | null>>;
}

function fileHash(path: string, hashes: Map<string, Promise<string | null>> | undefined): Promise<string | null> {
  const known = hashes?.get(path);
  if (known) return known;
  // An unreadable file reads as "changed": the run must look at it again.
  const h = imageFileHash(path).catch(() => null);
  hashes?.set(path, h);
  return h;
}

/** The first input of a finished run that differs from what its records say it was computed from, or null. */
export async function staleRunInputs(req: RunInputsRequest): Promise<string | null> {
  const { config, resources } = req;
  const cache = resources ? resources.diskCache(config) : cacheOf(config);
  // The pipeline says which models (with their files' hashes) and which references the run uses.
  const pipeline = await getPreset(config.preset).build(config, { cache, modelsDir: modelsDirOf(config), resources });
  try {
    const index = req.index ?? (await loadDataset(resolve(req.dataset)));
    const categories = selectCategories(index, req.categories);
    const needsReferences = pipeline.categoryStages.some((s) => s.reads.includes('references'));
    const jobs = buildJobs(index, config, categories, { needsReferences, excludeReferences: pipeline.referencesAreShots, limit: req.limit });
    const models = hashJson(pipeline.models);
    const dir = new RunDir(req.runDir);
    const evaluated = new Map(Object.entries(req.evaluated));
    for (const job of jobs) {
      if (evaluated.get(job.category) !== job.tests.length) {
        return `${job.category}: ${job.tests.length} test images now, ${evaluated.get(job.category) ?? 0} when it finished`;
      }
      const refHashes = await Promise.all(job.references.map((r) => fileHash(r.imagePath, req.hashes)));
      const references = hashJson(job.references.map((r, i) => [r.imagePath, refHashes[i]]));
      for (const s of job.tests) {
        const at = `${job.category}/${s.relId}`;
        const rec = await dir.completeRecord(job.category, s.relId);
        if (!rec) return `${at}: no complete result`;
        const image = await fileHash(s.imagePath, req.hashes);
        const why = staleReason(rec, { image, references, models });
        if (why) return `${at}: ${why}`;
        const mask = s.maskPath ? await fileHash(s.maskPath, req.hashes) : null;
        if ((rec.inputs?.mask ?? null) !== mask) return `${at}: mask changed`;
      }
    }
    if (jobs.length !== evaluated.size) return `categories: ${jobs.map((j) => j.category).join(', ')} now, ${[...evaluated.keys()].join(', ')} when it finished`;
    return null;
  } finally {
    await pipeline.dispose?.();
  }
}
