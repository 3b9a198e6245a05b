/** Feature grids for the mutual-scoring tests. */
import type { FeatureGrid } from '../../src/models/backbones/types.js';
import { mulberry32 } from '../../src/util/random.js';

/** 10 images of 6 x 6 patches: normal patches near one of 3 prototypes; images 0-3 carry the same defect (its own direction) at patch 0. */
export function sharedDefectPool(): FeatureGrid[][] {
  const side = 6;
  const dim = 12;
  const rnd = mulberry32(21);
  return Array.from({ length: 10 }, (_, i) => {
    const data = new Float32Array(side * side * dim);
    for (let p = 0; p < side * side; p++) {
      const axis = i < 4 && p === 0 ? 9 : p % 3;
      for (let c = 0; c < dim; c++) data[p * dim + c] = (c === axis ? 1 : 0) + 0.15 * (rnd() - 0.5);
    }
    return [{ data, gridWidth: side, gridHeight: side, dim, coverWidth: side * 16, coverHeight: side * 16 }];
  });
}
