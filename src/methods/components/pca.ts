/**
 * PCA of patch features, to make many-to-many patch searches cheaper (mutual scoring compares
 * every patch with every patch of up to 16 other images per layer and radius: 64 dims instead of
 * 128-320 cut that product 2-5x). Fitted on at most 4096 rows (an even subsample), covariance
 * in float64, top axes by subspace iteration from a fixed start (deterministic). Rows are then
 * projected with one onnxruntime MatMul (matmul-ort.ts).
 */
import { projectRows } from './matmul-ort.js';
import type { PatchSet } from './patch-distance.js';

export interface Pca {
  mean: Float32Array;
  /** dim x dims row-major: column j is the j-th principal axis. */
  axes: Float32Array;
  dim: number;
  dims: number;
}

const FIT_ROWS = 4096;
const ITERATIONS = 30;

export function fitPca(set: PatchSet, dims: number): Pca {
  const { data, n, dim } = set;
  if (n === 0) throw new Error('fitPca: no rows');
  const D = Math.min(dims, dim);
  const step = Math.max(1, Math.floor(n / FIT_ROWS));
  const mean = new Float64Array(dim);
  let count = 0;
  for (let i = 0; i < n; i += step, count++) for (let k = 0; k < dim; k++) mean[k] += data[i * dim + k];
  for (let k = 0; k < dim; k++) mean[k] /= count;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i += step) {
    for (let k = 0; k < dim; k++) row[k] = data[i * dim + k] - mean[k];
    for (let a = 0; a < dim; a++) {
      const va = row[a];
      if (va === 0) continue;
      const o = a * dim;
      for (let b = a; b < dim; b++) cov[o + b] += va * row[b];
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a];
  let q = new Float64Array(dim * D);
  let s = 12345;
  for (let i = 0; i < q.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    q[i] = s / 4294967296 - 0.5;
  }
  orthonormaliseColumns(q, dim, D);
  for (let it = 0; it < ITERATIONS; it++) {
    const z = new Float64Array(dim * D);
    for (let a = 0; a < dim; a++)
      for (let b = 0; b < dim; b++) {
        const c = cov[a * dim + b];
        if (c === 0) continue;
        for (let j = 0; j < D; j++) z[a * D + j] += c * q[b * D + j];
      }
    orthonormaliseColumns(z, dim, D);
    q = z;
  }
  return { mean: Float32Array.from(mean), axes: Float32Array.from(q), dim, dims: D };
}

/** Gram-Schmidt on the columns of a rows x cols matrix, in place. */
function orthonormaliseColumns(m: Float64Array, rows: number, cols: number): void {
  for (let j = 0; j < cols; j++) {
    for (let p = 0; p < j; p++) {
      let d = 0;
      for (let a = 0; a < rows; a++) d += m[a * cols + j] * m[a * cols + p];
      for (let a = 0; a < rows; a++) m[a * cols + j] -= d * m[a * cols + p];
    }
    let norm = 0;
    for (let a = 0; a < rows; a++) norm += m[a * cols + j] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let a = 0; a < rows; a++) m[a * cols + j] /= norm;
  }
}

/** Rows centred and projected onto the axes (not re-normalised: callers aggregate, then normalise). */
export function applyPca(set: PatchSet, pca: Pca): Promise<PatchSet> {
  if (set.dim !== pca.dim) throw new Error(`applyPca: rows have ${set.dim} dims, the PCA ${pca.dim}`);
  return projectRows(set, pca.axes, pca.dims, pca.mean);
}
