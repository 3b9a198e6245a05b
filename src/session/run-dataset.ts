/**
 * One pipeline run from a command: effective config -> preset -> pipeline (all models resolved
 * and loaded before any image is touched) -> run directory -> evaluation. `iapas run` and
 * `iapas demo` both go through here. Before any work: the run directory must be writable and the
 * evaluation must fit in memory; the directory's lock is held from the first write through the
 * evaluation.
 */
import { basename, resolve } from 'node:path';
import { cacheOf, modelsDirOf } from '../config/locations.js';
import { loadDataset } from '../datasets/index.js';
import { checkUnseen } from '../models/sam/seen-data.js';
import type { DatasetIndex } from '../datasets/types.js';
import { hashJson } from '../util/hash.js';
import { buildJobs, selectCategories } from './jobs.js';
import { resultConfigHash, runPipeline, type RunSummary } from '../pipeline/runner.js';
import type { EvaluationReport } from '../evaluation/metrics-files.js';
import { WrittenMaps } from '../run-directory/written-maps.js';
import { evaluateRun } from './evaluate-run.js';
import type { RunResources } from '../pipeline/resources.js';
import type { ImageRecord } from '../run-directory/records.js';
import { withRunLock } from '../run-directory/lock.js';
import type { Pipeline } from '../pipeline/types.js';
import { checkEvaluationMemory, protocolOf } from '../evaluation/protocol.js';
import { checkWritable } from '../util/writable.js';
import { type Config, getPreset } from '../methods/registry.js';

export interface DatasetRunRequest {
  config: Config;
  dataset: string;
  categories?: string[];
  runDir?: string;
  resume?: boolean;
  /** Test images per category (evenly spaced), for quick looks. */
  limit?: number;
  signal?: AbortSignal;
  maxImages?: number;
  quiet?: boolean;
  onImage?: (rec: ImageRecord, computed: boolean) => void | Promise<void>;
  /** Evaluate after the run (default true). */
  evaluate?: boolean;
  index?: DatasetIndex;
  /** A pipeline built by the caller (default: the config's preset); it is disposed of here. */
  pipeline?: Pipeline;
  /** What the run directory's lock names as its owner (default 'iapas run'). */
  command?: string;
  /**
   * Models, cache object, memo and prepared ground truth shared with the other runs of this
   * process (a sweep): loaded once, released by their owner, never by this run.
   */
  resources?: RunResources;
}

export interface DatasetRunResult {
  runDir: string;
  run: RunSummary;
  metrics?: EvaluationReport;
}

export function defaultRunDir(config: Config, dataset: string, categories?: string[], limit?: number): string {
  const tag = hashJson({ c: resultConfigHash(config), d: resolve(dataset), cats: categories ?? null, limit: limit ?? null }).slice(0, 8);
  return resolve('runs', `${config.preset}-${basename(resolve(dataset))}-${tag}`);
}

export async function runOnDataset(req: DatasetRunRequest): Promise<DatasetRunResult> {
  const { config } = req;
  const runDir = req.runDir ? resolve(req.runDir) : defaultRunDir(config, req.dataset, req.categories, req.limit);
  await checkWritable(req.runDir ?? runDir, 'dir', '--run-dir');
  const { resources } = req;
  const cache = resources ? resources.diskCache(config) : cacheOf(config);
  // Models first: a missing file stops the run before any dataset or image work.
  const pipeline = req.pipeline ?? (await getPreset(config.preset).build(config, { cache, modelsDir: modelsDirOf(config), resources }));
  try {
    const index = req.index ?? (await loadDataset(resolve(req.dataset)));
    const categories = selectCategories(index, req.categories);
    const needsReferences = pipeline.categoryStages.some((s) => s.reads.includes('references'));
    const jobs = buildJobs(index, config, categories, { needsReferences, excludeReferences: pipeline.referencesAreShots, limit: req.limit });
    if (req.evaluate !== false) for (const j of jobs) checkEvaluationMemory(j.category, j.tests.length, protocolOf(config.eval));
    const seen = await checkUnseen(config.sam.decoder, jobs.flatMap((j) => j.tests.filter((t) => t.maskPath).map((t) => t.imagePath)), {
      allow: config.sam.allow_seen_data,
      what: `${config.preset} on ${basename(resolve(req.dataset))}`,
    });
    if (seen) process.stderr.write(`warning: ${seen.warning}\n`);
    return await withRunLock(runDir, { command: req.command ?? 'iapas run' }, async (lock) => {
      const maps = new WrittenMaps();
      const run = await runPipeline({
        pipeline,
        config,
        jobs,
        runDir,
        resume: req.resume,
        cache,
        signal: req.signal,
        maxImages: req.maxImages,
        quiet: req.quiet,
        onImage: req.onImage,
        lock,
        resources,
        maps: req.evaluate !== false ? maps : undefined,
      });
      let metrics: EvaluationReport | undefined;
      if (!run.aborted && req.evaluate !== false) metrics = await evaluateRun(runDir, jobs, config, index, { quiet: req.quiet, resources, maps, seenData: seen?.flag });
      return { runDir, run, metrics };
    });
  } finally {
    await pipeline.dispose?.();
  }
}
