/**
 * A pipeline is two named lists of stages: stage A runs once per category, stage B once per
 * image. Each stage reads some keys of a state record and writes others; `definePipeline` checks
 * that every key a stage reads is written by an earlier stage (or given), so a preset that wires
 * stages in an impossible order fails when it is built, not halfway through a run.
 */
import type { Sample } from '../datasets/types.js';
import type { DiskCache } from '../util/disk-cache.js';
import type { StageTimer } from '../util/progress.js';
import type { BaseConfig } from '../config/schema.js';
import type { Box, RgbImage } from '../image/types.js';
import type { RunResources } from './resources.js';
import type { BoxRecord, CaptionRecord, DetectionRecord, ModelRecord } from '../run-directory/records.js';

export type { BoxRecord, CaptionRecord, ModelRecord };
/** A detector's box with its score and phrase (as the run directory records it). */
export type Detection = DetectionRecord;

/**
 * What stage A gives stage B (and what the run directory records per category). `M` is the
 * method's own per-category data (a memory bank, text prompts, a comparison pool); a stage that
 * does not read it is written for `never` and fits every method's pipeline.
 */
export interface CategoryState<M = never> {
  category: string;
  references: Sample[];
  /** The category's test images of this run (a method that scores images against each other reads them). */
  tests: Sample[];
  refImages?: RgbImage[];
  tags?: string[][];
  objectTag?: string;
  objectTagSource?: string;
  caption?: CaptionRecord;
  /** The method's per-category data (e.g. few-shot reference features), not recorded. */
  memory?: M;
  /** Stage-specific per-category facts that are recorded. */
  notes?: Record<string, unknown>;
}

export interface ImageState<M = never> {
  sample: Sample;
  category: CategoryState<M>;
  image?: RgbImage;
  objectBox?: Detection | null;
  objectSize?: number;
  boxes?: BoxRecord[];
  /** Binary masks (0/1, image size) of the kept boxes, in the order of the kept boxes. */
  masks?: Uint8Array[];
  /** Map before per-image normalisation. */
  rawMap?: Float32Array;
  /** Final anomaly map, image size. */
  map?: Float32Array;
  /** Stage-specific recorded facts. */
  notes?: Record<string, unknown>;
}

/** What a running stage gets besides its state; its parameters were bound when it was built. */
export interface StageContext {
  cache?: DiskCache;
  timer: StageTimer;
  signal?: AbortSignal;
  /** Shared with the other runs of this process (a sweep), when there are any: see resources.ts. */
  resources?: RunResources;
}

export interface Stage<S> {
  name: string;
  reads: ReadonlyArray<keyof S>;
  writes: ReadonlyArray<keyof S>;
  run(state: S, ctx: StageContext): Promise<Partial<S>>;
}

/** What a method's builder gets besides the config. */
export interface BuildEnv {
  cache?: DiskCache;
  /** Absolute models directory (config.models_dir resolved against the working directory). */
  modelsDir: string;
  /** Loaded models and memoised values shared with the other runs of this process (a sweep). */
  resources?: RunResources;
}

/** `M`: the method's per-category data; the runner sees every pipeline as `Pipeline<unknown>`. */
export interface Pipeline<M = unknown> {
  name: string;
  categoryStages: Stage<CategoryState<M>>[];
  imageStages: Stage<ImageState<M>>[];
  /** Models the stages load, with file hashes, for the run directory. */
  models: ModelRecord[];
  /**
   * The references are the method's few shots: when they come from the test split they are
   * taken out of the evaluated images (a query identical to a shot would score perfectly).
   */
  referencesAreShots?: boolean;
  /** How many times each model actually ran (cache hits excluded), for the run summary. */
  modelRuns?(): Record<string, number>;
  /** Milliseconds spent inside each model's runs (same keys as modelRuns where measured), for throughput figures. */
  modelMs?(): Record<string, number>;
  dispose?(): Promise<void>;
}

const CATEGORY_GIVEN: Array<keyof CategoryState<unknown>> = ['category', 'references', 'tests'];
const IMAGE_GIVEN: Array<keyof ImageState<unknown>> = ['sample', 'category'];

function checkOrder<S>(level: string, given: Array<keyof S>, stages: Stage<S>[]): void {
  const have = new Set<keyof S>(given);
  const names = new Set<string>();
  for (const s of stages) {
    if (names.has(s.name)) throw new Error(`${level}: stage name '${s.name}' used twice`);
    names.add(s.name);
    for (const r of s.reads) {
      if (!have.has(r)) throw new Error(`${level}: stage '${s.name}' reads '${String(r)}' which no earlier stage writes`);
    }
    for (const w of s.writes) have.add(w);
  }
}

export function definePipeline<M>(p: Pipeline<M>): Pipeline<M> {
  checkOrder<CategoryState<M>>('stage A', CATEGORY_GIVEN, p.categoryStages);
  checkOrder<ImageState<M>>('stage B', IMAGE_GIVEN, p.imageStages);
  const last = new Set<keyof ImageState<M>>(IMAGE_GIVEN);
  for (const s of p.imageStages) for (const w of s.writes) last.add(w);
  if (!last.has('map')) throw new Error(`pipeline '${p.name}': no stage B writes 'map'`);
  return p;
}

/** Runs stages in order on a state, timing each under its name. */
export async function runStages<S extends object>(stages: Stage<S>[], state: S, ctx: StageContext): Promise<S> {
  let cur = state;
  for (const s of stages) {
    if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error('aborted');
    for (const r of s.reads) {
      if ((cur as Record<string, unknown>)[r as string] === undefined) {
        throw new Error(`stage '${s.name}' needs '${String(r)}', which is missing`);
      }
    }
    const out = await ctx.timer.time(s.name, () => s.run(cur, ctx));
    cur = { ...cur, ...out };
  }
  return cur;
}
