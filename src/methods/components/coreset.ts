/**
 * Coreset subsampling of a memory bank (PatchCore): the greedy k-centre selection keeps m rows
 * such that every row of the bank is close to a kept one, so a nearest-neighbour search over the
 * m rows gives nearly the distances of the whole bank at m/n of the cost. Start at row 0, then
 * repeatedly add the row farthest from the rows kept so far (Gonzalez's 2-approximation).
 *
 * Plain greedy costs O(m n d); here it is exact but accelerated (Elkan-style pruning): every row
 * belongs to its nearest kept centre a, and a new centre c can only take a row p if
 * d(a, c) < 2 d(p, a) (triangle inequality): whole groups whose radius is under half their
 * centre's distance to c are skipped, and within a group every row near its centre is, without
 * computing its distance to c. Same choices as the plain loop (ties: the lowest
 * row index), which the tests check.
 *
 * Distances are measured on a seeded Gaussian random projection (`projection` dims, as
 * PatchCore's SparseRandomProjection) when rows have more dims: selection only, the kept rows
 * themselves are the bank's own.
 */
import { mulberry32 } from '../../util/random.js';
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

function dist2(x: Float32Array, d: number, i: number, j: number): number {
  let s = 0;
  const a = i * d;
  const b = j * d;
  for (let k = 0; k < d; k++) {
    const t = x[a + k] - x[b + k];
    s += t * t;
  }
  return s;
}

/**
 * Exact greedy k-centre on rows of `x` (n x d): indices of up to m rows, in the order chosen.
 * Stops early when every row coincides with a chosen one (no row is farther than 0).
 */
export function greedyKCentre(x: Float32Array, n: number, d: number, m: number): Int32Array {
  m = Math.min(m, n);
  if (m <= 0 || n === 0) return new Int32Array(0);
  const minD2 = new Float64Array(n);
  const centres = new Int32Array(m);
  // Per centre: its member rows, the largest squared distance among them and the row holding it.
  const members: Int32Array[] = [];
  const count: number[] = [];
  const far2: number[] = [];
  const farRow: number[] = [];
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    all[i] = i;
    minD2[i] = dist2(x, d, i, 0);
  }
  members.push(all);
  count.push(n);
  const summarise = (g: number) => {
    let best = -1;
    let row = -1;
    const list = members[g];
    for (let k = 0; k < count[g]; k++) {
      const p = list[k];
      const v = minD2[p];
      if (v > best || (v === best && p < row)) {
        best = v;
        row = p;
      }
    }
    far2[g] = best;
    farRow[g] = row;
  };
  summarise(0);
  let chosen = 1;
  const moved = new Int32Array(n);
  for (; chosen < m; chosen++) {
    // The farthest row overall (lowest index among equals).
    let g0 = 0;
    for (let g = 1; g < chosen; g++) if (far2[g] > far2[g0] || (far2[g] === far2[g0] && farRow[g] < farRow[g0])) g0 = g;
    if (!(far2[g0] > 0)) break;
    const c = farRow[g0];
    centres[chosen] = c;
    let nMoved = 0;
    for (let g = 0; g < chosen; g++) {
      if (count[g] === 0) continue;
      const r = Math.sqrt(far2[g]);
      const dc = Math.sqrt(dist2(x, d, centres[g], c));
      // No row of g can be nearer to c than to its own centre: skip (margin for rounding).
      if (dc > 2 * r * (1 + 1e-9) + 1e-12) continue;
      const list = members[g];
      let kept = 0;
      // Per row the same bound: c can only be nearer than the row's centre if dc < 2 d(row, centre).
      const half2 = (dc * dc) / 4;
      for (let k = 0; k < count[g]; k++) {
        const p = list[k];
        if (minD2[p] * (1 + 1e-9) + 1e-12 < half2) {
          list[kept++] = p;
          continue;
        }
        const v = dist2(x, d, p, c);
        if (v < minD2[p]) {
          minD2[p] = v;
          moved[nMoved++] = p;
        } else list[kept++] = p;
      }
      if (kept !== count[g]) {
        count[g] = kept;
        summarise(g);
      }
    }
    // Rows moved from several groups: keep the new group in row order, so ties resolve as the plain loop.
    const mine = moved.slice(0, nMoved).sort();
    members.push(mine);
    count.push(nMoved);
    summarise(chosen);
  }
  return centres.slice(0, chosen);
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

/** The coreset of a bank: the kept rows (in selection order) and their indices in the bank. */
export async function selectCoreset(set: PatchSet, opts: CoresetOptions): Promise<{ rows: PatchSet; indices: Int32Array }> {
  if (!(opts.fraction > 0 && opts.fraction <= 1)) throw new Error(`coreset fraction must be in (0, 1], got ${opts.fraction}`);
  const m = coresetSize(set.n, opts.fraction);
  if (m >= set.n) return { rows: set, indices: Int32Array.from({ length: set.n }, (_, i) => i) };
  const space = opts.projection > 0 && set.dim > opts.projection ? await projectRows(set, gaussianMatrix(set.dim, opts.projection, opts.seed), opts.projection) : set;
  const indices = greedyKCentre(space.data, set.n, space.dim, m);
  const data = new Float32Array(indices.length * set.dim);
  indices.forEach((j, i) => data.set(set.data.subarray(j * set.dim, (j + 1) * set.dim), i * set.dim));
  return { rows: { data, n: indices.length, dim: set.dim }, indices };
}
