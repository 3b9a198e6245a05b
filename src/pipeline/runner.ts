/**
 * Runs a pipeline over categories of samples into a run directory: stage A once per category,
 * stage B per test image with bounded concurrency (decoding of one image overlaps the model runs
 * of another; model sessions are shared through the stages), each image's results written as
 * soon as they exist. The run holds the directory's lock (run-directory/lock.ts) throughout.
 *
 * With `resume`, an image is skipped when its record and map are complete and were computed from
 * the same inputs: the sha256 of its image file, of the category's reference files, and of the
 * model files all match what was recorded. Otherwise it is recomputed, and the summary says how
 * many were and why. A changed mask (read only by the evaluation) updates the record alone.
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { RUN_ONLY_KEYS, type BaseConfig } from '../config/schema.js';
import type { Sample } from '../datasets/types.js';
import type { DiskCache } from '../util/disk-cache.js';
import { MissingModelError, UserError, WriteError } from '../util/errors.js';
import { hashJson, stableStringify } from '../util/hash.js';
import { imageFileHash } from '../image/io.js';
import { acquireRunLock, type RunLock } from '../run-directory/lock.js';
import { createProgress, StageTimer } from '../util/progress.js';
import { encodeRle } from '../run-directory/rle.js';
import type { RunResources } from './resources.js';
import { RunDir } from '../run-directory/run-dir.js';
import type { ImageInputs, ImageRecord, StageARecord } from '../run-directory/records.js';
import type { WrittenMaps } from '../run-directory/written-maps.js';
import { CATEGORY_FRAMEWORK_KEYS, IMAGE_FRAMEWORK_KEYS, methodFieldsOf, runStages, type CategoryState, type ImageState, type Pipeline, type StageContext } from './types.js';

export interface CategoryJob {
  category: string;
  references: Sample[];
  tests: Sample[];
}

export interface RunOptions {
  pipeline: Pipeline;
  config: BaseConfig;
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
  /** Collects the maps this call writes (their digests, and the maps within its budget) for the evaluation that follows. */
  maps?: WrittenMaps;
  /**
   * The lock of `runDir`, when the caller holds it (to cover more than the run, e.g. the
   * evaluation after it); otherwise the runner takes it and releases it when done.
   */
  lock?: RunLock;
  /** The command line's name for the run directory option, for messages (default '--run-dir'). */
  dirFlag?: string;
  /** What the lock file names as its owner (default 'iapas run'). */
  command?: string;
}

/** Why a complete image of a resumed run is computed again. */
export type RecomputeReason = 'image changed' | 'references changed' | 'models changed' | 'no input hashes recorded';

export interface CategoryRunSummary {
  category: string;
  images: number;
  /** Images computed in this call (recomputed ones included). */
  computed: number;
  /** Complete images kept as they were. */
  skipped: number;
  /** Of `computed`, the images that were complete but stale, by reason. */
  recomputed: Partial<Record<RecomputeReason, number>>;
  /** Complete images whose record alone was rewritten (their mask, or paths, changed). */
  updated: number;
  stageA: 'computed' | 'loaded';
}

export interface RunSummary {
  runDir: string;
  aborted: boolean;
  categories: CategoryRunSummary[];
  timing: ReturnType<StageTimer['summary']>;
  cache: Record<string, { hits: number; misses: number }>;
  /** Model executions in this call (not cache hits). */
  modelRuns: Record<string, number>;
  /** Milliseconds inside those executions, per model (where the pipeline measures them). */
  modelMs: Record<string, number>;
  wallSeconds: number;
  /**
   * Images left out because their input was bad (corrupt or unreadable image, unreadable mask):
   * the run goes on without them, the evaluation lists them as missing maps, and `--resume`
   * tries them again. Other errors (bugs, missing models) still stop the run.
   */
  failed: Array<{ category: string; relId: string; image: string; error: string }>;
}


export function resultConfigHash(config: BaseConfig): string {
  const c: Record<string, unknown> = { ...config };
  for (const k of RUN_ONLY_KEYS) delete c[k];
  if (config.eval) {
    const { max_memory_gb: _memory, ...evalKeys } = config.eval;
    c.eval = evalKeys;
  }
  return hashJson(c);
}

/** Checks a run directory against this run before anything is written to it. */
async function prepareRunDir(dir: RunDir, config: BaseConfig, models: Pipeline['models'], resume: boolean, dirFlag: string): Promise<void> {
  const existing = await dir.readConfig();
  if (existing) {
    if (!resume) {
      throw new UserError(`run directory ${dir.root} already holds a run; pass --resume to continue it, or choose another ${dirFlag}`);
    }
    if (resultConfigHash(existing as BaseConfig) !== resultConfigHash(config)) {
      throw new UserError(
        `cannot resume ${dir.root}: its config differs from this one in values that change results; use another ${dirFlag}`,
      );
    }
  }
  await dir.writeConfig(config);
  await dir.writeModels(models);
}

async function maskHash(path: string | null): Promise<string | null> {
  if (!path) return null;
  // An unreadable mask is the evaluation's to report; here it only means "no hash".
  return imageFileHash(path).catch(() => null);
}

function stageARecord(s: CategoryState<unknown>, referenceHashes: string[]): StageARecord {
  return {
    category: s.category,
    references: s.references.map((r) => r.imagePath),
    referenceHashes,
    ...methodFieldsOf(s, CATEGORY_FRAMEWORK_KEYS),
    notes: s.notes,
  };
}

function imageRecord(dir: RunDir, s: ImageState<unknown>, inputs: ImageInputs): ImageRecord {
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
    ...methodFieldsOf(s, IMAGE_FRAMEWORK_KEYS),
    samPrompts: s.samPrompts,
    masks: s.masks?.map((m) => encodeRle(m, width, height)),
    map: dir.mapRel(sample.category, sample.relId),
    inputs,
    notes: s.notes,
  };
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return !!a && a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Why a complete record is stale for this sample, or null when it can be kept. Every input is
 * compared with what the record itself says it was computed from, so a run killed halfway through
 * recomputing leaves no record that looks current.
 */
export function staleReason(rec: ImageRecord, now: { image: string | null; references: string; models: string }): RecomputeReason | null {
  const was = rec.inputs;
  if (!was || !was.image || !was.references || !was.models) return 'no input hashes recorded';
  if (was.models !== now.models) return 'models changed';
  if (was.references !== now.references) return 'references changed';
  if (was.image !== now.image) return 'image changed';
  return null;
}

export async function runPipeline(opts: RunOptions): Promise<RunSummary> {
  const dirFlag = opts.dirFlag ?? '--run-dir';
  if (opts.lock && opts.lock.dir !== resolve(opts.runDir)) throw new Error(`runPipeline: the lock given is for ${opts.lock.dir}, not ${resolve(opts.runDir)}`);
  const lock = opts.lock ?? (await acquireRunLock(opts.runDir, { command: opts.command ?? 'iapas run', dirFlag }));
  try {
    return await runLocked(opts, dirFlag);
  } finally {
    if (!opts.lock) await lock.release();
  }
}

async function runLocked(opts: RunOptions, dirFlag: string): Promise<RunSummary> {
  const t0 = performance.now();
  const dir = new RunDir(opts.runDir);
  const { pipeline, config } = opts;
  await prepareRunDir(dir, config, pipeline.models, !!opts.resume, dirFlag);
  const modelsHash = hashJson(pipeline.models);
  // This run holds the lock: temporary files here are a killed run's, never to be completed.
  await dir.removeOrphanTemps();

  const timer = new StageTimer();
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const ctx: StageContext = { cache: opts.cache, timer, signal: abort.signal, resources: opts.resources };
  const limit = pLimit(config.concurrency);
  let computedTotal = 0;
  const summary: RunSummary = { runDir: opts.runDir, aborted: false, categories: [], timing: {}, cache: {}, modelRuns: {}, modelMs: {}, wallSeconds: 0, failed: [] };
  const runsBefore = pipeline.modelRuns?.() ?? {};
  const msBefore = pipeline.modelMs?.() ?? {};
  // Models and the cache object may outlive this run (shared resources): report differences.
  const cacheBefore = new Map([...(opts.cache?.stats ?? [])].map(([ns, st]) => [ns, { ...st }]));

  try {
    for (const job of opts.jobs) {
      if (abort.signal.aborted) break;
      const referenceHashes = await Promise.all(job.references.map((r) => imageFileHash(r.imagePath)));
      const referencesHash = hashJson(job.references.map((r, i) => [r.imagePath, referenceHashes[i]]));
      const catSummary: CategoryRunSummary = { category: job.category, images: job.tests.length, computed: 0, skipped: 0, recomputed: {}, updated: 0, stageA: 'loaded' };
      summary.categories.push(catSummary);

      const pending: Array<{ sample: Sample; stale?: RecomputeReason }> = [];
      const done: ImageRecord[] = [];
      for (const s of job.tests) {
        const rec = opts.resume ? await dir.completeRecord(job.category, s.relId) : undefined;
        if (!rec) {
          pending.push({ sample: s });
          continue;
        }
        const imageHash = await imageFileHash(s.imagePath).catch(() => null);
        const stale = staleReason(rec, { image: imageHash, references: referencesHash, models: modelsHash });
        if (stale) {
          pending.push({ sample: s, stale });
          continue;
        }
        // Same image, references and models: the map stands. Facts the evaluation or figures read
        // (mask, paths, label) are brought up to date in the record.
        const fresh: ImageRecord = {
          ...rec,
          imagePath: s.imagePath,
          maskPath: s.maskPath,
          label: s.label,
          defectType: s.defectType,
          inputs: { ...rec.inputs!, mask: await maskHash(s.maskPath) },
        };
        if (stableStringify(fresh) !== stableStringify(rec)) {
          await dir.writeRecord(fresh);
          catSummary.updated++;
        }
        done.push(fresh);
      }
      catSummary.skipped = done.length;

      // Stage A is re-run whenever images remain: its per-category memory (e.g. reference
      // features) is not on disk, and its model calls are cache hits on a resumed run.
      let catState: CategoryState<unknown> | undefined;
      const recorded = await dir.readStageA(job.category);
      if (pending.length > 0 || !recorded || !sameList(recorded.referenceHashes, referenceHashes)) {
        catState = await runStages(pipeline.categoryStages, { category: job.category, references: job.references, tests: job.tests }, ctx);
        await dir.writeStageA(stageARecord(catState, referenceHashes));
        catSummary.stageA = 'computed';
      }

      const progress = createProgress(job.category, job.tests.length, { quiet: opts.quiet });
      for (const rec of done) {
        progress.tick();
        if (opts.onImage) await opts.onImage(rec, false);
      }
      const tasks = pending.map(({ sample, stale }) =>
        limit(async () => {
          if (abort.signal.aborted) return;
          let state: ImageState<unknown>;
          let inputs: ImageInputs;
          try {
            inputs = { image: await imageFileHash(sample.imagePath), mask: await maskHash(sample.maskPath), references: referencesHash, models: modelsHash };
            state = await runStages(pipeline.imageStages, { sample, category: catState! }, ctx);
          } catch (err) {
            if (!(err instanceof UserError) || err instanceof MissingModelError || err instanceof WriteError || abort.signal.aborted) throw err;
            // Results of an earlier run for this image are stale now: nothing must evaluate them.
            if (stale) await dir.removeImage(sample.category, sample.relId);
            summary.failed.push({ category: job.category, relId: sample.relId, image: sample.imagePath, error: err.message });
            progress.tick();
            return;
          }
          const rec = imageRecord(dir, state, inputs);
          const digest = await timer.time('write', () => dir.writeImage(rec, state.map!));
          opts.maps?.add(rec.category, rec.relId, digest, { data: state.map!, width: rec.width, height: rec.height });
          catSummary.computed++;
          if (stale) catSummary.recomputed[stale] = (catSummary.recomputed[stale] ?? 0) + 1;
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
  // The cache writes behind the pipeline; the run is over when they are on disk.
  await opts.cache?.flush();
  summary.timing = timer.summary();
  if (opts.cache) {
    for (const [ns, st] of opts.cache.stats) {
      const b = cacheBefore.get(ns) ?? { hits: 0, misses: 0 };
      if (st.hits - b.hits || st.misses - b.misses) summary.cache[ns] = { hits: st.hits - b.hits, misses: st.misses - b.misses };
    }
  }
  const runsAfter = pipeline.modelRuns?.() ?? {};
  for (const [k, v] of Object.entries(runsAfter)) summary.modelRuns[k] = v - (runsBefore[k] ?? 0);
  for (const [k, v] of Object.entries(pipeline.modelMs?.() ?? {})) summary.modelMs[k] = Math.round(v - (msBefore[k] ?? 0));
  summary.wallSeconds = +((performance.now() - t0) / 1000).toFixed(2);
  await dir.writeJson('timing.json', { timing: summary.timing, cache: summary.cache, model_runs: summary.modelRuns, model_ms: summary.modelMs, wall_seconds: summary.wallSeconds, categories: summary.categories });
  // Rewritten (or removed) on every call, so a resumed run that fixed everything leaves none behind.
  if (summary.failed.length) await dir.writeJson('failed.json', summary.failed);
  else await rm(join(dir.root, 'failed.json'), { force: true });
  return summary;
}
