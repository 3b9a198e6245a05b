/**
 * Patch anomaly score = cosine distance from each query patch to its nearest reference patch
 * (1 - max cosine similarity over the memory bank). Rows are L2-normalised once, so the hot loop
 * is a plain dot product, done in blocks of memory rows that stay in cache while a block of
 * query rows walks over them.
 */
import { normaliseRowsInPlace } from '../../util/rows.js';

/** A set of row vectors: n rows of dim floats, row-major. */
export interface PatchSet {
  data: Float32Array;
  n: number;
  dim: number;
}

/** L2-normalises each row in place; zero rows stay zero (their similarity to anything is 0). */
export function normaliseRows(set: PatchSet): PatchSet {
  normaliseRowsInPlace(set.data, set.n, set.dim);
  return set;
}

/** Concatenates several patch sets of the same dim into one memory bank. */
export function concatPatchSets(sets: PatchSet[]): PatchSet {
  if (sets.length === 0) throw new Error('concatPatchSets: no sets');
  const dim = sets[0].dim;
  let n = 0;
  for (const s of sets) {
    if (s.dim !== dim) throw new Error(`concatPatchSets: dim ${s.dim} != ${dim}`);
    n += s.n;
  }
  const data = new Float32Array(n * dim);
  let off = 0;
  for (const s of sets) {
    data.set(s.data.subarray(0, s.n * s.dim), off);
    off += s.n * s.dim;
  }
  return { data, n, dim };
}

const QUERY_BLOCK = 4;
const MEMORY_BLOCK = 256;

/**
 * For each query row, 1 - max_j <q, m_j>. Both sets must already be L2-normalised
 * (normaliseRows). Result in [0, 2]; identical direction -> 0, orthogonal -> 1.
 */
export function nearestCosineDistance(query: PatchSet, memory: PatchSet): Float32Array {
  if (query.dim !== memory.dim) throw new Error(`nearestCosineDistance: dims differ (${query.dim} vs ${memory.dim})`);
  if (memory.n === 0) throw new Error('nearestCosineDistance: empty memory bank');
  const dim = query.dim;
  const q = query.data;
  const m = memory.data;
  const best = new Float32Array(query.n).fill(-Infinity);
  for (let j0 = 0; j0 < memory.n; j0 += MEMORY_BLOCK) {
    const j1 = Math.min(memory.n, j0 + MEMORY_BLOCK);
    let i = 0;
    // Four query rows at once: each memory row is read once per four dot products.
    for (; i + QUERY_BLOCK <= query.n; i += QUERY_BLOCK) {
      const a0 = i * dim;
      const a1 = a0 + dim;
      const a2 = a1 + dim;
      const a3 = a2 + dim;
      let b0 = best[i];
      let b1 = best[i + 1];
      let b2 = best[i + 2];
      let b3 = best[i + 3];
      for (let j = j0; j < j1; j++) {
        const mo = j * dim;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let c = 0; c < dim; c++) {
          const v = m[mo + c];
          s0 += q[a0 + c] * v;
          s1 += q[a1 + c] * v;
          s2 += q[a2 + c] * v;
          s3 += q[a3 + c] * v;
        }
        if (s0 > b0) b0 = s0;
        if (s1 > b1) b1 = s1;
        if (s2 > b2) b2 = s2;
        if (s3 > b3) b3 = s3;
      }
      best[i] = b0;
      best[i + 1] = b1;
      best[i + 2] = b2;
      best[i + 3] = b3;
    }
    for (; i < query.n; i++) {
      const a = i * dim;
      let b = best[i];
      for (let j = j0; j < j1; j++) {
        const mo = j * dim;
        let s = 0;
        for (let c = 0; c < dim; c++) s += q[a + c] * m[mo + c];
        if (s > b) b = s;
      }
      best[i] = b;
    }
  }
  const out = new Float32Array(query.n);
  for (let i = 0; i < query.n; i++) out[i] = Math.min(2, Math.max(0, 1 - best[i]));
  return out;
}
