/**
 * A pipeline is two named lists of stages: stage A runs once per category, stage B once per
 * image. Each stage reads some keys of a state record and writes others; `definePipeline` checks
 * that every key a stage reads is written by an earlier stage (or given), so a preset that wires
 * stages in an impossible order fails when it is built, not halfway through a run.
 */
import type { Sample } from '../datasets/types.js';
import type { DiskCache } from '../util/disk-cache.js';
import type { StageTimer } from '../util/progress.js';
import type { RgbImage } from '../image/types.js';
import type { RunResources } from './resources.js';
import type { DetectionPrompt, ModelRecord, RegionPrompt, SamPromptRecord } from '../run-directory/records.js';

export type { DetectionPrompt, ModelRecord, RegionPrompt, SamPromptRecord };

/**
 * A method's own state fields, typed by the method and recorded as they are (JSON values) in the
 * category's and each image's record, beside the framework's: e.g. IAP-AS's object tag and
 * caption per category, its object box per image. Data that is not recorded (a memory bank, a
 * comparison pool) goes in `memory`.
 */
export interface MethodFields {
  category?: object;
  image?: object;
}

type Own<F extends MethodFields, K extends keyof MethodFields> = F[K] extends object ? Partial<F[K]> : {};

interface CategoryBase<M> {
  category: string;
  references: Sample[];
  /** The category's test images of this run (a method that scores images against each other reads them). */
  tests: Sample[];
  refImages?: RgbImage[];
  /** The method's per-category data (e.g. few-shot reference features), not recorded. */
  memory?: M;
  /** Stage-specific per-category facts that are recorded. */
  notes?: Record<string, unknown>;
}

/**
 * What stage A gives stage B (and what the run directory records per category). `M` is the
 * method's own per-category data, `F` its recorded fields; a stage that reads neither is written
 * for the defaults and fits every method's pipeline.
 */
export type CategoryState<M = never, F extends MethodFields = {}> = CategoryBase<M> & Own<F, 'category'>;

interface ImageBase<M, F extends MethodFields> {
  sample: Sample;
  category: CategoryState<M, F>;
  image?: RgbImage;
  /** The boxes SAM was given, or dropped before it, with where they came from. */
  samPrompts?: SamPromptRecord[];
  /** Binary masks (0/1, image size) of the kept prompts, in the order of the kept prompts. */
  masks?: Uint8Array[];
  /** Map before per-image normalisation. */
  rawMap?: Float32Array;
  /** Final anomaly map, image size. */
  map?: Float32Array;
  /** Stage-specific recorded facts. */
  notes?: Record<string, unknown>;
}

export type ImageState<M = never, F extends MethodFields = {}> = ImageBase<M, F> & Own<F, 'image'>;

/** The state keys the framework owns; every other key a stage writes is a method field and is recorded as it is. */
export const CATEGORY_FRAMEWORK_KEYS: ReadonlySet<string> = new Set(['category', 'references', 'tests', 'refImages', 'memory', 'notes']);
export const IMAGE_FRAMEWORK_KEYS: ReadonlySet<string> = new Set(['sample', 'category', 'image', 'samPrompts', 'masks', 'rawMap', 'map', 'notes']);

/** The method fields of a state: what the framework records beside its own keys. */
export function methodFieldsOf(state: object, frameworkKeys: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(state).filter(([k, v]) => !frameworkKeys.has(k) && v !== undefined));
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

/** `M`: the method's per-category data, `F` its recorded fields; the runner sees every pipeline as `Pipeline<unknown>`. */
export interface Pipeline<M = unknown, F extends MethodFields = {}> {
  name: string;
  categoryStages: Stage<CategoryState<M, F>>[];
  imageStages: Stage<ImageState<M, F>>[];
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

/**
 * Checks the stage order and hands the pipeline to the runner, which neither reads a method's
 * memory nor its fields by name (it records the fields as they are): there the method's types end.
 */
export function definePipeline<M, F extends MethodFields = {}>(p: Pipeline<M, F>): Pipeline {
  checkOrder<CategoryState<M, F>>('stage A', CATEGORY_GIVEN, p.categoryStages);
  checkOrder<ImageState<M, F>>('stage B', IMAGE_GIVEN, p.imageStages);
  const last = new Set<keyof ImageState<M, F>>(IMAGE_GIVEN);
  for (const s of p.imageStages) for (const w of s.writes) last.add(w);
  if (!last.has('map')) throw new Error(`pipeline '${p.name}': no stage B writes 'map'`);
  return p as unknown as Pipeline;
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
