/**
 * The per-category part of the few-shot method: features of k normal references pooled into one
 * memory bank, and the references' own leave-one-out scores for the adaptive threshold. Prepared
 * once per category; every query of the category is then scored against it.
 */
import type { Backbone, FeatureGrid } from '../../models/backbones/types.js';
import { UserError } from '../../util/errors.js';
import type { RgbImage } from '../../image/io.js';
import { nearestCosineDistanceOrt, prepareMemory, type PreparedMemory } from '../components/nearest-ort.js';
import { concatPatchSets, normaliseRows, type PatchSet } from '../components/patch-distance.js';
import { scoresToImageMap, scoresToWorkMap, type MapOptions } from '../components/score-map.js';
import { adaptiveThreshold, quantile } from '../components/threshold.js';

export interface MemoryBank {
  backbone: string;
  /** All reference patches, L2-normalised rows. */
  memory: PatchSet;
  /** The same bank laid out for the matrix-product search (built once, used by every query). */
  prepared: PreparedMemory;
  referenceCount: number;
  /**
   * Leave-one-out maps of the references (each scored against the other k-1), at working size,
   * pooled; empty when k < 2.
   */
  referenceScores: Float32Array;
  /** Summary of the leave-one-out scores (for reports and the adaptive policy). */
  referenceStats: { max: number; p999: number; p99: number; mean: number } | null;
  mapOptions: MapOptions;
}

export function gridToPatches(grid: FeatureGrid): PatchSet {
  return normaliseRows({ data: grid.data.slice(), n: grid.gridWidth * grid.gridHeight, dim: grid.dim });
}

/** Leave-one-out scores are pooled from maps this small: enough pixels for a 0.999 quantile. */
const LOO_MAP_SIZE = 128;

export async function prepareMemoryBank(backbone: Backbone, references: RgbImage[], mapOptions: MapOptions = {}): Promise<MemoryBank> {
  if (references.length === 0) throw new UserError('few-shot: at least one normal reference image is needed');
  const grids: FeatureGrid[] = [];
  for (const r of references) grids.push(await backbone.extract(r));
  const sets = grids.map(gridToPatches);
  const memory = concatPatchSets(sets);
  let referenceScores = new Float32Array(0);
  let referenceStats: MemoryBank['referenceStats'] = null;
  if (references.length >= 2) {
    const parts: Float32Array[] = [];
    for (let i = 0; i < references.length; i++) {
      const others = concatPatchSets(sets.filter((_, j) => j !== i));
      const scores = await nearestCosineDistanceOrt(sets[i], others);
      const r = references[i];
      // Same (relative) smoothing as queries, at a smaller size: only the value distribution matters.
      parts.push(scoresToWorkMap(scores, grids[i], r.width, r.height, { ...mapOptions, workSize: LOO_MAP_SIZE }).map);
    }
    referenceScores = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      referenceScores.set(p, off);
      off += p.length;
    }
    let max = -Infinity;
    let sum = 0;
    for (const v of referenceScores) {
      if (v > max) max = v;
      sum += v;
    }
    referenceStats = {
      max,
      p999: quantile(referenceScores, 0.999),
      p99: quantile(referenceScores, 0.99),
      mean: sum / referenceScores.length,
    };
  }
  return { backbone: backbone.name, memory, prepared: prepareMemory(memory), referenceCount: references.length, referenceScores, referenceStats, mapOptions };
}

/** The adaptive policy's per-category threshold; needs k >= 2 references. */
export function categoryThreshold(bank: MemoryBank, opts: { quantile?: number; factor?: number } = {}): number {
  if (bank.referenceScores.length === 0) {
    throw new UserError(`the adaptive threshold needs at least 2 normal references (got ${bank.referenceCount}); give more references (--refs, --k) or another policy: --set fewshot.threshold=otsu or --set fewshot.threshold=fixed:<v>`);
  }
  return adaptiveThreshold(bank.referenceScores, opts);
}

/** Raw anomaly map of one query at image size (cosine distance to the nearest reference patch, smoothed). */
export async function scoreQuery(backbone: Backbone, bank: MemoryBank, image: RgbImage): Promise<Float32Array> {
  const grid = await backbone.extract(image);
  const scores = await nearestCosineDistanceOrt(gridToPatches(grid), bank.prepared);
  return scoresToImageMap(scores, grid, image.width, image.height, bank.mapOptions);
}
