/**
 * The nearest-patch search of patch-distance.ts as one matrix product on onnxruntime: a graph
 * MatMul(Q, M^T) -> ReduceMax over the memory axis, built in memory with the project's ONNX
 * writer. onnxruntime's SGEMM is many times faster than the plain-JS loop on the same cores
 * (eval/bench-fewshot-nn.ts), and the results agree to float32 rounding (test/fewshot).
 *
 * Same contract as `nearestCosineDistance`: rows L2-normalised, result 1 - max cosine in [0, 2].
 */
import * as ort from 'onnxruntime-node';
import { DT, GraphBuilder } from '../../models/onnx/graph.js';
import { sessionOptions } from '../../models/onnx/session-options.js';
import type { PatchSet } from './patch-distance.js';

/** Query rows per run, so that the n x m similarity block stays near 64 MB. */
const SIMILARITY_BLOCK_VALUES = 16 * 1024 * 1024;

let session: Promise<ort.InferenceSession> | undefined;

function buildGraph(): Uint8Array {
  const g = new GraphBuilder('nearest-cosine');
  const q = g.input('query', DT.FLOAT, ['n', 'd']);
  const mt = g.input('memory_t', DT.FLOAT, ['d', 'm']);
  const sim = g.op('MatMul', [q, mt]);
  g.op('ReduceMax', [sim], { axes: [1], keepdims: 0 }, 'best');
  g.output('best', DT.FLOAT, ['n']);
  return g.toBytes(13);
}

function getSession(): Promise<ort.InferenceSession> {
  session ??= ort.InferenceSession.create(buildGraph(), sessionOptions());
  return session;
}

/** Column-major copy of the memory bank ([d, m]), made once per bank and reused for every query. */
export interface PreparedMemory {
  tensor: ort.Tensor;
  n: number;
  dim: number;
}

export function prepareMemory(memory: PatchSet): PreparedMemory {
  if (memory.n === 0) throw new Error('nearestCosineDistanceOrt: empty memory bank');
  const { n, dim, data } = memory;
  const t = new Float32Array(n * dim);
  for (let j = 0; j < n; j++) for (let c = 0; c < dim; c++) t[c * n + j] = data[j * dim + c];
  return { tensor: new ort.Tensor('float32', t, [dim, n]), n, dim };
}

export async function nearestCosineDistanceOrt(
  query: PatchSet,
  memory: PatchSet | PreparedMemory,
  blockValues = SIMILARITY_BLOCK_VALUES,
): Promise<Float32Array> {
  const prepared = 'tensor' in memory ? memory : prepareMemory(memory);
  if (query.dim !== prepared.dim) throw new Error(`nearestCosineDistanceOrt: dims differ (${query.dim} vs ${prepared.dim})`);
  const s = await getSession();
  const out = new Float32Array(query.n);
  const rows = Math.max(1, Math.floor(blockValues / prepared.n));
  for (let i0 = 0; i0 < query.n; i0 += rows) {
    const i1 = Math.min(query.n, i0 + rows);
    const q = new ort.Tensor('float32', query.data.subarray(i0 * query.dim, i1 * query.dim), [i1 - i0, query.dim]);
    const best = (await s.run({ query: q, memory_t: prepared.tensor })).best.data as Float32Array;
    for (let i = 0; i < best.length; i++) out[i0 + i] = Math.min(2, Math.max(0, 1 - best[i]));
  }
  return out;
}
