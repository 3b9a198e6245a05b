/**
 * SPT's visual-relation-aware (VRA) adapter, in jax-js. The relation is a row-softmax over the
 * cosine similarity of the image embedding's tokens; after each transformer block the image
 * tokens take `keys += (relation @ keys) * scale`, `scale` a trainable 256-vector that starts at
 * zero (so the adapter starts as the identity).
 *
 * Full form (pool 1, the paper's): relation [4096, 4096] with the diagonal masked. It costs
 * 4096*4096*256 multiply-adds to build and as many per block per pass, forward and again
 * backward: with two blocks and two decoder passes ~70 GFLOP a training step (~4-5 s here), and
 * ~21 GFLOP per decoder call at inference (~0.45 s in onnxruntime), plus 64 MiB per image.
 *
 * Reduced form (pool f > 1, the default f = 4): the 64x64 grid cut into f x f cells. Each token's
 * relation is a softmax over the cells of its cosine with the cell's mean unit token (= its mean
 * cosine with the cell's tokens), applied to the cell's mean key. That is the full relation with
 * exp(mean cosine) in place of mean exp(cosine) inside a cell, close because a softmax of cosines
 * at temperature 1 (values in [-1, 1]) is smooth; the token's own weight is not masked (in the
 * full form it would be about 1/4096 anyway). Cost at f = 4: relation [4096, 256], 1/16 of the
 * full form's time and memory (4 MiB).
 *
 * The relation depends on the frozen embedding only, so it is computed once per sample outside
 * autodiff. The same maths is written as ONNX nodes in export.ts; a test compares the two.
 */
import { nn, numpy as np } from '@jax-js/jax';
import { CHANNELS, GRID } from '../prompt-embedding.js';

export const TOKENS = GRID * GRID;
export const NORM_EPS = 1e-6;
/** Added to the relation's diagonal logits in the full form: exp of it is 0 in float32. */
export const DIAGONAL_MASK = -1e9;
export const RELATION_POOLS = [1, 2, 4, 8, 16] as const;

/** The cell-mean matrix [cells, 4096] of pool f: row c holds 1/f^2 on the tokens of cell c. */
export function poolMatrix(pool: number): Float32Array {
  if (!RELATION_POOLS.includes(pool as (typeof RELATION_POOLS)[number])) throw new Error(`SPT relation: pool must be one of ${RELATION_POOLS.join(', ')}, got ${pool}`);
  const side = GRID / pool;
  const out = new Float32Array(side * side * TOKENS);
  const w = 1 / (pool * pool);
  for (let y = 0; y < GRID; y++) {
    for (let x = 0; x < GRID; x++) {
      const cell = Math.floor(y / pool) * side + Math.floor(x / pool);
      out[cell * TOKENS + y * GRID + x] = w;
    }
  }
  return out;
}

export interface Relation {
  /** [4096, cells] row-softmax weights. */
  weights: np.Array;
  /** [cells, 4096] cell means, or null in the full form. */
  pool: np.Array | null;
}

/** The relation of an embedding in token order [4096, 256]; consumes `tokens`. */
export function relationOf(tokens: np.Array, pool: number): Relation {
  const norm = np.sqrt(np.square(tokens.ref).sum(-1, { keepdims: true })).add(NORM_EPS);
  const unit = tokens.div(norm);
  const p = pool === 1 ? null : np.array(poolMatrix(pool)).reshape([(GRID / pool) ** 2, TOKENS]);
  const cells = p ? np.matmul(p.ref, unit.ref) : unit.ref;
  let logits = np.matmul(unit, cells.transpose([1, 0]));
  if (!p) logits = logits.add(np.eye(TOKENS).mul(DIAGONAL_MASK));
  return { weights: nn.softmax(logits, -1), pool: p };
}

/** keys [4096, 256] + (relation @ cell keys) * scale; consumes `keys`, not the relation or scale. */
export function applyRelation(keys: np.Array, relation: Relation, scale: np.Array): np.Array {
  const cells = relation.pool ? np.matmul(relation.pool.ref, keys.ref) : keys.ref;
  return keys.add(np.matmul(relation.weights.ref, cells).mul(scale.ref.reshape([1, CHANNELS])));
}

export function disposeRelation(r: Relation): void {
  r.weights.dispose();
  r.pool?.dispose();
}
