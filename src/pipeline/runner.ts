/**
 * Runs a pipeline over categories of samples into a run directory: stage A once per category,
 * stage B per test image with bounded concurrency (decoding of one image overlaps the model runs
 * of another; model sessions are shared through the stages), each image's results written as
 * soon as they exist. With `resume`, images whose results are complete are skipped.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Config } from '../config/schema.js';
import type { Sample } from '../datasets/types.js';
import type { DiskCache } from '../util/disk-cache.js';
import { MissingModelError, UserError } from '../util/errors.js';
import { hashJson } from '../util/hash.js';
import { createProgress, StageTimer } from '../util/progress.js';
import { encodeRle } from './rle.js';
import type { RunResources } from './resources.js';
import { RunDir, type ImageRecord, type StageARecord } from './run-dir.js';
import { runStages, type CategoryState, type ImageState, type Pipeline, type StageContext } from './types.js';

export interface CategoryJob {
  category: string;
  references: Sample[];
  tests: Sample[];
}

export interface RunOptions {
  pipeline: Pipeline;
  config: Config;
  jobs: CategoryJob[];
  runDir: string;
  resume?: boolean;
  cache?: DiskCache;
  signal?: AbortSignal;
  /** Stop (as if killed) after this many images have been computed in this call. */
  maxImages?: number;
  quiet?: boolean;
  /** Called with every finished image (computed or found complete). */
  onImage?: (rec: ImageRecord, computed: boolean) => void | Promise<void>;
  /** Shared with the other runs of this process (see resources.ts). */
  resources?: RunResources;
}

export interface RunSummary {
  runDir: string;
  aborted: boolean;
  categories: Array<{ category: string; images: number; computed: number; skipped: number; stageA: 'computed' | 'loaded' }>;
  timing: ReturnType<StageTimer['summary']>;
  cache: Record<string, { hits: number; misses: number }>;
  /** Model executions in this call (not cache hits). */
  modelRuns: Record<string, number>;
  wallSeconds: number;
  /**
   * Images left out because their input was bad (corrupt or unreadable image, unreadable mask):
   * the run goes on without them, the evaluation lists them as missing maps, and `--resume`
   * tries them again. Other errors (bugs, missing models) still stop the run.
   */
  failed: Array<{ category: string; relId: string; image: string; error: string }>;
}

/** Keys that change no result: a resumed run may differ in them. */
const RUN_ONLY_KEYS = ['concurrency', 'cache', 'cache_dir', 'models_dir'];

export function resultConfigHash(config: Config): string {
  const c: Record<string, unknown> = { ...config };
  for (const k of RUN_ONLY_KEYS) delete c[k];
  return hashJson(c);
}

async function prepareRunDir(dir: RunDir, config: Config, resume: boolean): Promise<void> {
  const existing = await dir.readConfig();
  if (existing) {
    if (!resume) {
      throw new UserError(`run directory ${dir.root} already holds a run; pass --resume to continue it, or choose another --run-dir`);
    }
    if (resultConfigHash(existing as Config) !== resultConfigHash(config)) {
      throw new UserError(
        `cannot resume ${dir.root}: its config differs from this one in values that change results; use another --run-dir`,
      );
    }
  }
  await dir.writeConfig(config);
}

function stageARecord(s: CategoryState): StageARecord {
  return {
    category: s.category,
    references: s.references.map((r) => r.imagePath),
    tags: s.tags,
    objectTag: s.objectTag,
    objectTagSource: s.objectTagSource,
    caption: s.caption,
    notes: s.notes,
  };
}

function imageRecord(dir: RunDir, s: ImageState): ImageRecord {
  const { sample } = s;
  const img = s.image;
  if (!s.map) throw new Error(`no map for ${sample.imagePath}`);
  const width = img?.width ?? 0;
  const height = img?.height ?? 0;
  if (s.map.length !== width * height) throw new Error(`map of ${sample.imagePath} has ${s.map.length} values, image is ${width}x${height}`);
  return {
    category: sample.category,
    relId: sample.relId,
    imagePath: sample.imagePath,
    maskPath: sample.maskPath,
    label: sample.label,
    defectType: sample.defectType,
    width,
    height,
    objectBox: s.objectBox,
    objectSize: s.objectSize,
    boxes: s.boxes,
    masks: s.masks?.map((m) => encodeRle(m, width, height)),
    map: dir.mapRel(sample.category, sample.relId),
    notes: s.notes,
  };
}

export async function runPipeline(opts: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const dir = new RunDir(opts.runDir);
  const { pipeline, config } = opts;
  await prepareRunDir(dir, config, !!opts.resume);
  await dir.writeModels(pipeline.models);

  const timer = new StageTimer();
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const ctx: StageContext = { config, cache: opts.cache, timer, signal: abort.signal, resources: opts.resources };
  const limit = pLimit(config.concurrency);
  let computedTotal = 0;
  const summary: RunSummary = { runDir: opts.runDir, aborted: false, categories: [], timing: {}, cache: {}, modelRuns: {}, wallSeconds: 0, failed: [] };
  const runsBefore = pipeline.modelRuns?.() ?? {};
  // Models and the cache object may outlive this run (shared resources): report differences.
  const cacheBefore = new Map([...(opts.cache?.stats ?? [])].map(([ns, st]) => [ns, { ...st }]));

  try {
    for (const job of opts.jobs) {
      if (abort.signal.aborted) break;
      const pending: Sample[] = [];
      const done: Sample[] = [];
      for (const s of job.tests) {
        if (opts.resume && (await dir.isComplete(job.category, s.relId))) done.push(s);
        else pending.push(s);
      }
      const catSummary = { category: job.category, images: job.tests.length, computed: 0, skipped: done.length, stageA: 'loaded' as 'computed' | 'loaded' };
      summary.categories.push(catSummary);

      // Stage A is re-run whenever images remain: its per-category memory (e.g. reference
      // features) is not on disk, and its model calls are cache hits on a resumed run.
      let catState: CategoryState | undefined;
      const recorded = await dir.readStageA(job.category);
      if (pending.length > 0 || !recorded) {
        catState = await runStages(pipeline.categoryStages, { category: job.category, references: job.references }, ctx);
        await dir.writeStageA(stageARecord(catState));
        catSummary.stageA = 'computed';
      }

      const progress = createProgress(job.category, job.tests.length, { quiet: opts.quiet });
      for (const s of done) {
        progress.tick();
        if (opts.onImage) {
          const rec = await dir.readImage(job.category, s.relId);
          if (rec) await opts.onImage(rec, false);
        }
      }
      const tasks = pending.map((sample) =>
        limit(async () => {
          if (abort.signal.aborted) return;
          let state: ImageState;
          try {
            state = await runStages(pipeline.imageStages, { sample, category: catState! }, ctx);
          } catch (err) {
            if (!(err instanceof UserError) || err instanceof MissingModelError || abort.signal.aborted) throw err;
            summary.failed.push({ category: job.category, relId: sample.relId, image: sample.imagePath, error: err.message });
            progress.tick();
            return;
          }
          const rec = imageRecord(dir, state);
          await timer.time('write', () => dir.writeImage(rec, state.map!));
          catSummary.computed++;
          computedTotal++;
          progress.tick();
          if (opts.onImage) await opts.onImage(rec, true);
          if (opts.maxImages !== undefined && computedTotal >= opts.maxImages) abort.abort(new Error('image limit reached'));
        }),
      );
      const results = await Promise.allSettled(tasks);
      progress.stop();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed && !abort.signal.aborted) throw failed.reason;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }

  summary.aborted = abort.signal.aborted;
  summary.timing = timer.summary();
  if (opts.cache) {
    for (const [ns, st] of opts.cache.stats) {
      const b = cacheBefore.get(ns) ?? { hits: 0, misses: 0 };
      if (st.hits - b.hits || st.misses - b.misses) summary.cache[ns] = { hits: st.hits - b.hits, misses: st.misses - b.misses };
    }
  }
  const runsAfter = pipeline.modelRuns?.() ?? {};
  for (const [k, v] of Object.entries(runsAfter)) summary.modelRuns[k] = v - (runsBefore[k] ?? 0);
  summary.wallSeconds = +((performance.now() - t0) / 1000).toFixed(2);
  await dir.writeJson('timing.json', { timing: summary.timing, cache: summary.cache, model_runs: summary.modelRuns, wall_seconds: summary.wallSeconds, categories: summary.categories });
  // Rewritten (or removed) on every call, so a resumed run that fixed everything leaves none behind.
  if (summary.failed.length) await dir.writeJson('failed.json', summary.failed);
  else await rm(join(dir.root, 'failed.json'), { force: true });
  return summary;
}
