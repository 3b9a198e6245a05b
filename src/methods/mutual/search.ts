/**
 * The search of mutual scoring: for each query patch, its nearest patch in each of J other
 * images separately (MuSc keeps one minimum per image, not one over all of them). One
 * onnxruntime graph: MatMul(Q, M^T) -> Reshape [n, J, P] -> ReduceMax over P. Images with fewer
 * patches than the block's largest (other aspect ratios) are padded with copies of their own first
 * row, which never changes a maximum.
 */
import * as ort from 'onnxruntime-node';
import { DT, GraphBuilder } from '../../models/onnx/graph.js';
import { sessionOptions } from '../../models/onnx/session-options.js';
import type { PatchSet } from '../components/patch-distance.js';

/** Query rows per run, so that the n x (J P) similarity block stays near 64 MB. */
const SIMILARITY_BLOCK_VALUES = 16 * 1024 * 1024;

let session: Promise<ort.InferenceSession> | undefined;

function getSession(): Promise<ort.InferenceSession> {
  session ??= (() => {
    const g = new GraphBuilder('nearest-per-image');
    const q = g.input('query', DT.FLOAT, ['n', 'd']);
    const mt = g.input('memory_t', DT.FLOAT, ['d', 'm']);
    const shape = g.input('shape', DT.INT64, [3]);
    const r = g.op('Reshape', [g.op('MatMul', [q, mt]), shape]);
    g.op('ReduceMax', [r], { axes: [2], keepdims: 0 }, 'best');
    g.output('best', DT.FLOAT, ['n', 'j']);
    return ort.InferenceSession.create(g.toBytes(13), sessionOptions());
  })();
  return session;
}

/** Several images' patch sets in one column-major tensor [dim, images * patches]. */
export interface ImageBlock {
  tensor: ort.Tensor;
  images: number;
  patches: number;
  dim: number;
}

export function prepareImageBlock(sets: PatchSet[]): ImageBlock {
  if (sets.length === 0) throw new Error('prepareImageBlock: no images');
  const dim = sets[0].dim;
  const P = Math.max(...sets.map((s) => s.n));
  const m = sets.length * P;
  const t = new Float32Array(dim * m);
  sets.forEach((s, j) => {
    if (s.dim !== dim) throw new Error(`prepareImageBlock: dims differ (${s.dim} vs ${dim})`);
    for (let p = 0; p < P; p++) {
      const src = (p < s.n ? p : 0) * dim;
      const col = j * P + p;
      for (let c = 0; c < dim; c++) t[c * m + col] = s.data[src + c];
    }
  });
  return { tensor: new ort.Tensor('float32', t, [dim, m]), images: sets.length, patches: P, dim };
}

/** n x J row-major: 1 - max cosine of each query row to each image of the block (rows L2-normalised). */
export async function nearestPerImage(query: PatchSet, block: ImageBlock, blockValues = SIMILARITY_BLOCK_VALUES): Promise<Float32Array> {
  if (query.dim !== block.dim) throw new Error(`nearestPerImage: dims differ (${query.dim} vs ${block.dim})`);
  const s = await getSession();
  const J = block.images;
  const out = new Float32Array(query.n * J);
  const rows = Math.max(1, Math.floor(blockValues / (J * block.patches)));
  for (let i0 = 0; i0 < query.n; i0 += rows) {
    const i1 = Math.min(query.n, i0 + rows);
    const best = (
      await s.run({
        query: new ort.Tensor('float32', query.data.subarray(i0 * query.dim, i1 * query.dim), [i1 - i0, query.dim]),
        memory_t: block.tensor,
        shape: new ort.Tensor('int64', BigInt64Array.from([BigInt(i1 - i0), BigInt(J), BigInt(block.patches)]), [3]),
      })
    ).best.data as Float32Array;
    for (let i = 0; i < best.length; i++) out[i0 * J + i] = Math.min(2, Math.max(0, 1 - best[i]));
  }
  return out;
}

/** Which patches of one image no query may match, and the patch whose features their columns take. */
export interface PatchMask {
  /** 1 = masked, one entry per patch of the image (patches past its length are padding). */
  masked: Uint8Array;
  /** An unmasked patch of the same image: copies of it never change the image's maximum. */
  source: number;
}

/**
 * A copy of `block` in which each image's masked patches (and its padding) are replaced by copies
 * of its `source` patch, so that the nearest patch of that image is searched among its unmasked
 * patches only. `masks[j]` null leaves image j as it is.
 */
export function maskedImageBlock(block: ImageBlock, masks: ReadonlyArray<PatchMask | null>): ImageBlock {
  if (masks.length !== block.images) throw new Error(`maskedImageBlock: ${masks.length} masks for ${block.images} images`);
  const src = block.tensor.data as Float32Array;
  const t = src.slice();
  const { dim, patches: P } = block;
  const m = block.images * P;
  masks.forEach((mask, j) => {
    if (!mask) return;
    const from = j * P + mask.source;
    for (let p = 0; p < P; p++) {
      if (p < mask.masked.length && !mask.masked[p]) continue;
      const col = j * P + p;
      for (let c = 0; c < dim; c++) t[c * m + col] = src[c * m + from];
    }
  });
  return { tensor: new ort.Tensor('float32', t, [dim, m]), images: block.images, patches: P, dim };
}
