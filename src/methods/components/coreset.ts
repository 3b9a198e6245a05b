/**
 * Coreset subsampling of a memory bank (PatchCore): the greedy k-centre selection keeps m rows
 * such that every row of the bank is close to a kept one, so a nearest-neighbour search over the
 * m rows gives nearly the distances of the whole bank at m/n of the cost. Start at row 0, then
 * repeatedly add the row farthest from the rows kept so far (Gonzalez's 2-approximation); the
 * selection itself runs on onnxruntime (k-centre-ort.ts), with the plain loop's choices up to
 * float32 rounding (ties: the lowest row index), which the tests check.
 *
 * Distances are measured on a seeded Gaussian random projection (`projection` dims, as
 * PatchCore's SparseRandomProjection) when rows have more dims: selection only, the kept rows
 * themselves are the bank's own.
 */
import { mulberry32 } from '../../util/random.js';
import { greedyKCentreOrt } from './k-centre-ort.js';
import { projectRows } from './matmul-ort.js';
import type { PatchSet } from './patch-distance.js';

export interface CoresetOptions {
  /** Fraction of the rows kept, in (0, 1]; 1 keeps the bank as it is. */
  fraction: number;
  /** Selection on a random projection to this many dims when rows have more; 0 = full dims. */
  projection: number;
  /** Seed of the projection. */
  seed: number;
}

/** Rows a coreset of `fraction` keeps of n: round(fraction * n), at least 1. */
export function coresetSize(n: number, fraction: number): number {
  return Math.max(1, Math.min(n, Math.round(fraction * n)));
}

function gaussianMatrix(rows: number, cols: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(rows * cols);
  const scale = 1 / Math.sqrt(cols);
  for (let i = 0; i < out.length; i++) {
    // Box-Muller; 1 - u keeps the logarithm finite.
    out[i] = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()) * scale;
  }
  return out;
}

/** The rows the selection measures distances on: the seeded projection when rows have more dims, else the rows. */
export async function selectionSpace(set: PatchSet, opts: Pick<CoresetOptions, 'projection' | 'seed'>): Promise<PatchSet> {
  return opts.projection > 0 && set.dim > opts.projection ? projectRows(set, gaussianMatrix(set.dim, opts.projection, opts.seed), opts.projection) : set;
}

/** The coreset of a bank: the kept rows (in selection order) and their indices in the bank. */
export async function selectCoreset(set: PatchSet, opts: CoresetOptions): Promise<{ rows: PatchSet; indices: Int32Array }> {
  if (!(opts.fraction > 0 && opts.fraction <= 1)) throw new Error(`coreset fraction must be in (0, 1], got ${opts.fraction}`);
  const m = coresetSize(set.n, opts.fraction);
  if (m >= set.n) return { rows: set, indices: Int32Array.from({ length: set.n }, (_, i) => i) };
  const space = await selectionSpace(set, opts);
  const indices = await greedyKCentreOrt(space.data, set.n, space.dim, m);
  const data = new Float32Array(indices.length * set.dim);
  indices.forEach((j, i) => data.set(set.data.subarray(j * set.dim, (j + 1) * set.dim), i * set.dim));
  return { rows: { data, n: indices.length, dim: set.dim }, indices };
}
