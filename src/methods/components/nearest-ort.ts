/**
 * The nearest-patch search of patch-distance.ts as one matrix product on onnxruntime: a graph
 * MatMul(Q, M^T) -> ReduceMax over the memory axis, built in memory with the project's ONNX
 * writer. onnxruntime's SGEMM is many times faster than the plain-JS loop on the same cores
 * (eval/bench-fewshot-nn.ts), and the results agree to float32 rounding (test/fewshot).
 *
 * An int8 bank (prepareMemory(.., { int8: true })) runs the same search as an integer product:
 * the bank is quantised once, symmetric, each block of queries in the graph (DynamicQuantizeLinear,
 * uint8 0..255 with a zero point), then MatMulInteger -> ReduceMax. The error is bounded by the
 * rounding of both sides (`int8ErrorBound`): a few 1e-3 in cosine for unit rows, against
 * normal-vs-normal distances that spread over ~0.15 on minisam-ms's large scales.
 *
 * Why the bank uses 7 bits (-64..63, step = max |value| / 63) and not 8: onnxruntime's u8 x s8
 * kernels on x86-64 without VNNI (AVX2, AVX-512BW) multiply with vpmaddubsw, which adds each pair
 * of adjacent u8 * s8 products into an int16 with saturation, before any zero point is taken off.
 * With 8-bit banks a pair reaches 2 * 255 * 127 = 64770 and is clipped at 32767 (measured: 0.034 of
 * cosine error on such a CPU). With |bank| <= 64 a pair is at most 2 * 255 * 64 = 32640, inside
 * int16, so every kernel (VNNI's exact vpdpbusd included) computes the same exact integer sums and
 * the results agree to float rounding on every x86-64 CPU. This is onnxruntime's own `reduce_range`
 * remedy for weights; it costs one bit of bank precision, not speed.
 *
 * Same contract as `nearestCosineDistance`: rows L2-normalised, result 1 - max cosine in [0, 2].
 */
import * as ort from 'onnxruntime-node';
import { DT, GraphBuilder } from '../../models/onnx/graph.js';
import { sessionOptions } from '../../models/onnx/session-options.js';
import type { PatchSet } from './patch-distance.js';

/** Query rows per run, so that the n x m similarity block stays near 64 MB. */
const SIMILARITY_BLOCK_VALUES = 16 * 1024 * 1024;

/**
 * Largest |integer| of a quantised bank. 2 * 255 * BANK_INT_LIMIT must stay <= 32767 (see above);
 * values are rounded to -BANK_INT_MAX..BANK_INT_MAX, and 64 is the bound the pair sums are
 * proven against (the s8 range's negative side).
 */
export const BANK_INT_MAX = 63;
export const BANK_INT_LIMIT = 64;

let session: Promise<ort.InferenceSession> | undefined;
let sessionInt8: Promise<ort.InferenceSession> | undefined;

function buildGraph(): Uint8Array {
  const g = new GraphBuilder('nearest-cosine');
  const q = g.input('query', DT.FLOAT, ['n', 'd']);
  const mt = g.input('memory_t', DT.FLOAT, ['d', 'm']);
  const sim = g.op('MatMul', [q, mt]);
  g.op('ReduceMax', [sim], { axes: [1], keepdims: 0 }, 'best');
  g.output('best', DT.FLOAT, ['n']);
  return g.toBytes(13);
}

/** Query rows quantised per run, times an int8 bank, best integer product per row (times the query step). */
function buildInt8Graph(): Uint8Array {
  const g = new GraphBuilder('nearest-cosine-int8');
  const q = g.input('query', DT.FLOAT, ['n', 'd']);
  const mt = g.input('memory_t', DT.INT8, ['d', 'm']);
  const [qu, qStep, qZero] = g.opMulti('DynamicQuantizeLinear', [q], 3);
  const best = g.op('ReduceMax', [g.op('MatMulInteger', [qu, mt, qZero])], { axes: [1], keepdims: 0 });
  g.op('Mul', [g.op('Cast', [best], { to: DT.FLOAT }), qStep], {}, 'best');
  g.output('best', DT.FLOAT, ['n']);
  return g.toBytes(13);
}

function getSession(int8: boolean): Promise<ort.InferenceSession> {
  if (int8) return (sessionInt8 ??= ort.InferenceSession.create(buildInt8Graph(), sessionOptions()));
  session ??= ort.InferenceSession.create(buildGraph(), sessionOptions());
  return session;
}

/** Column-major copy of the memory bank ([d, m]), made once per bank and reused for every query. */
export interface PreparedMemory {
  tensor: ort.Tensor;
  n: number;
  dim: number;
  /** An int8 bank: the value of one step of its integers; absent for a float32 bank. */
  step?: number;
}

export function prepareMemory(memory: PatchSet, opts: { int8?: boolean } = {}): PreparedMemory {
  if (memory.n === 0) throw new Error('nearestCosineDistanceOrt: empty memory bank');
  const { n, dim, data } = memory;
  if (opts.int8) {
    let max = 0;
    for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(data[i]));
    const step = max > 0 ? max / BANK_INT_MAX : 1;
    const t = new Int8Array(n * dim);
    for (let j = 0; j < n; j++) {
      for (let c = 0; c < dim; c++) t[c * n + j] = Math.max(-BANK_INT_MAX, Math.min(BANK_INT_MAX, Math.round(data[j * dim + c] / step)));
    }
    return { tensor: new ort.Tensor('int8', t, [dim, n]), n, dim, step };
  }
  const t = new Float32Array(n * dim);
  for (let j = 0; j < n; j++) for (let c = 0; c < dim; c++) t[c * n + j] = data[j * dim + c];
  return { tensor: new ort.Tensor('float32', t, [dim, n]), n, dim };
}

/**
 * Largest |int8 distance - float32 distance| for these rows: each value of a row is off by at most
 * half its step, so a product q.m is off by at most (|q|_1 * step_m + |m|_1 * step_q + d *
 * step_q * step_m / 2) / 2, with step_q the widest query step of the block quantisation (range of
 * the queries and 0, over 255) and |.|_1 the largest row sum of absolute values.
 */
export function int8ErrorBound(query: PatchSet, memory: PatchSet, bankStep: number): number {
  const rowL1Max = (p: PatchSet) => {
    let best = 0;
    for (let i = 0; i < p.n; i++) {
      let s = 0;
      for (let c = 0; c < p.dim; c++) s += Math.abs(p.data[i * p.dim + c]);
      best = Math.max(best, s);
    }
    return best;
  };
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < query.data.length; i++) {
    lo = Math.min(lo, query.data[i]);
    hi = Math.max(hi, query.data[i]);
  }
  const qStep = (hi - lo) / 255;
  return (rowL1Max(query) * bankStep + rowL1Max(memory) * qStep + query.dim * qStep * bankStep / 2) / 2;
}

export async function nearestCosineDistanceOrt(
  query: PatchSet,
  memory: PatchSet | PreparedMemory,
  blockValues = SIMILARITY_BLOCK_VALUES,
): Promise<Float32Array> {
  const prepared = 'tensor' in memory ? memory : prepareMemory(memory);
  if (query.dim !== prepared.dim) throw new Error(`nearestCosineDistanceOrt: dims differ (${query.dim} vs ${prepared.dim})`);
  const s = await getSession(prepared.step !== undefined);
  const scale = prepared.step ?? 1;
  const out = new Float32Array(query.n);
  const rows = Math.max(1, Math.floor(blockValues / prepared.n));
  for (let i0 = 0; i0 < query.n; i0 += rows) {
    const i1 = Math.min(query.n, i0 + rows);
    const q = new ort.Tensor('float32', query.data.subarray(i0 * query.dim, i1 * query.dim), [i1 - i0, query.dim]);
    const best = (await s.run({ query: q, memory_t: prepared.tensor })).best.data as Float32Array;
    for (let i = 0; i < best.length; i++) out[i0 + i] = Math.min(2, Math.max(0, 1 - best[i] * scale));
  }
  return out;
}
