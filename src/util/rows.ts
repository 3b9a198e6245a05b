/** Row-vector maths shared by the feature code and the nearest-patch search. */

/** L2-normalises each of `n` rows of `dim` floats in place; an all-zero row stays zero. */
export function normaliseRowsInPlace(data: Float32Array, n: number, dim: number): Float32Array {
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let s = 0;
    for (let c = 0; c < dim; c++) s += data[o + c] * data[o + c];
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let c = 0; c < dim; c++) data[o + c] *= inv;
    }
  }
  return data;
}
