/**
 * Greedy k-centre (Gonzalez: start at row 0, repeatedly add the row farthest from the rows kept so
 * far) on onnxruntime. The steps run as an ONNX Loop in one session run: per step the body takes
 * the last chosen row c, computes squared distances to it with one matrix product
 * (|x|^2 + |c|^2 - 2 x.c, on centred rows, which keeps |x|^2 and so the rounding small), keeps the
 * running minimum per row and picks the next row by ArgMax (first index on ties, the plain
 * loop's rule), emitted as a scan output.
 *
 * Levels (exact): a row's distance to the kept set only shrinks, and so does the farthest
 * distance F from step to step, so a row whose distance is under a level L cannot be picked while
 * F stays above L. The Loop therefore runs on the rows at or above L only, and stops when F falls
 * to L; then L is lowered to RHO * F, the rows left out whose last known distance (an upper
 * bound) reaches the new level are brought up to date against the rows kept since (one matrix
 * product per group) and join, the others keep waiting. The farthest row is always among the
 * rows run, so the picks are the plain loop's. On patch banks only a few percent of the rows are
 * at or above the level at a time, so a step reads a small part of the bank
 * (eval/bench-coreset.ts measures it).
 *
 * The bank goes to onnxruntime as it is (no copy) with the indices of the rows to use; gathering
 * and centring happen in the graphs, in onnxruntime's reused buffers: fresh memory is slow to
 * touch on the machines this is built on (about 20 us per 4 kB page), and a copy per level showed.
 */
import * as ort from 'onnxruntime-node';
import { DT, GraphBuilder } from '../../models/onnx/graph.js';
import { sessionOptions } from '../../models/onnx/session-options.js';

/** A new level is this fraction of the farthest (squared) distance. */
const RHO = 0.8;
/** Distances per run of the update product: its [rows, centres] block stays small and cached. */
const UPDATE_BLOCK_VALUES = 256 * 1024;
/** At most this many rows per run of the update product: its gathered rows stay small too. */
const UPDATE_BLOCK_ROWS = 1024;
/** fp32 unit roundoff. */
const U = 2 ** -24;

/**
 * One thread: a step's work is small, and handing each of its ops to a second thread cost more
 * than it saved (2-3x slower per selection on the 2-core build machine, measured).
 */
const SESSION_OPTIONS = sessionOptions(1);
let stepsSession: Promise<ort.InferenceSession> | undefined;
let updateSession: Promise<ort.InferenceSession> | undefined;

/** Rows `idx` of the bank minus the centre: [r, d]. */
function centredRows(g: GraphBuilder, x: string, mean: string, idx: string): string {
  return g.op('Sub', [g.op('Gather', [x, idx], { axis: 0 }), mean]);
}

/**
 * The greedy steps on the rows `rows` of the bank: from their distances `min_in` and the last
 * kept row `c`, up to `steps` picks while the farthest distance stays above `stop`. Outputs the
 * rows' distances after the last pick applied, the picks (positions in `rows`) and their
 * distances.
 */
function buildStepsGraph(): Uint8Array {
  const g = new GraphBuilder('greedy-k-centre-steps');
  const x = g.input('x', DT.FLOAT, ['n', 'd']);
  const mean = g.input('mean', DT.FLOAT, ['d']);
  const rows = g.input('rows', DT.INT64, ['r']);
  const min0 = g.input('min_in', DT.FLOAT, [1, 'r']);
  const c0 = g.input('c', DT.INT64, [1]);
  const steps = g.input('steps', DT.INT64, []);
  const stop = g.input('stop', DT.FLOAT, []);
  const xr = centredRows(g, x, mean, rows);
  const sq = g.op('ReduceSumSquare', [xr], { axes: [1], keepdims: 0 }); // [r]
  // -2 x^T, scaled once here (exact): MatMul then Mul would be fused into one MatMul with alpha -2,
  // which loses MLAS's single-row kernel (3x slower per step, measured).
  const xtm2 = g.op('Mul', [g.op('Transpose', [xr], { perm: [1, 0] }), g.constF32([-2], [])]);
  const row0 = centredRows(g, x, mean, c0); // [1, d]
  const rowSq0 = g.op('ReduceSumSquare', [row0], { axes: [1], keepdims: 0 }); // [1]

  const body = g.subgraph('greedy-k-centre-step');
  body.input('iter', DT.INT64, []);
  body.input('cond_in', DT.BOOL, []);
  const minIn = body.input('min_step_in', DT.FLOAT, [1, 'r']);
  const row = body.input('row_in', DT.FLOAT, [1, 'd']);
  const rowSq = body.input('row_sq_in', DT.FLOAT, [1]);
  const d2 = body.op('Add', [body.op('MatMul', [row, xtm2]), body.op('Add', [sq, rowSq])]); // [1, r]
  const minOut = body.op('Min', [minIn, d2], {}, 'min_step_out');
  const next = body.op('ArgMax', [minOut], { axis: 1, keepdims: 0 }); // [1], first index on ties
  const far = body.op('Gather', [minOut, next], { axis: 1 }, 'far'); // [1, 1]
  body.op('Greater', [body.op('ReduceMax', [far], { keepdims: 0 }), stop], {}, 'cond_out');
  body.op('Gather', [xr, next], { axis: 0 }, 'row_out');
  body.op('Gather', [sq, next], { axis: 0 }, 'row_sq_out');
  body.op('Identity', [next], {}, 'pick');
  body.output('cond_out', DT.BOOL, []);
  body.output('min_step_out', DT.FLOAT, [1, 'r']);
  body.output('row_out', DT.FLOAT, [1, 'd']);
  body.output('row_sq_out', DT.FLOAT, [1]);
  body.output('pick', DT.INT64, [1]);
  body.output('far', DT.FLOAT, [1, 1]);

  const [minOut0, , , picks, fars] = g.opMulti('Loop', [steps, g.constBool([true], []), min0, row0, rowSq0], 5, { body: { graph: body } });
  g.op('Identity', [minOut0], {}, 'min_out');
  g.op('Identity', [picks], {}, 'picks');
  g.op('Identity', [fars], {}, 'fars');
  g.output('min_out', DT.FLOAT, [1, 'r']);
  g.output('picks', DT.INT64, ['k', 1]);
  g.output('fars', DT.FLOAT, ['k', 1, 1]);
  return g.toBytes(13);
}

/**
 * Per row of `rows`, the smallest squared distance to the rows `centres`, by the same expansion;
 * |c|^2 rides in the product's bias, so the [r, k] block is written once.
 */
function buildUpdateGraph(): Uint8Array {
  const g = new GraphBuilder('min-squared-distance');
  const x = g.input('x', DT.FLOAT, ['n', 'd']);
  const mean = g.input('mean', DT.FLOAT, ['d']);
  const rows = g.input('rows', DT.INT64, ['r']);
  const centres = g.input('centres', DT.INT64, ['k']);
  const xr = centredRows(g, x, mean, rows);
  const xc = centredRows(g, x, mean, centres);
  const ctm2 = g.op('Mul', [g.op('Transpose', [xc], { perm: [1, 0] }), g.constF32([-2], [])]);
  const csq = g.op('ReduceSumSquare', [xc], { axes: [1], keepdims: 0 });
  const part = g.op('ReduceMin', [g.op('Add', [g.op('MatMul', [xr, ctm2]), csq])], { axes: [1], keepdims: 0 });
  const sq = g.op('ReduceSumSquare', [xr], { axes: [1], keepdims: 0 }, 'sq');
  g.op('Add', [part, sq], {}, 'min');
  g.output('min', DT.FLOAT, ['r']);
  g.output('sq', DT.FLOAT, ['r']);
  return g.toBytes(13);
}

function getSteps(): Promise<ort.InferenceSession> {
  stepsSession ??= ort.InferenceSession.create(buildStepsGraph(), SESSION_OPTIONS);
  return stepsSession;
}

function getUpdate(): Promise<ort.InferenceSession> {
  updateSession ??= ort.InferenceSession.create(buildUpdateGraph(), SESSION_OPTIONS);
  return updateSession;
}

/** `v` rounded to `bits` significant bits. */
function roundSignificant(v: number, bits: number): number {
  if (v === 0 || !Number.isFinite(v)) return 0;
  const q = 2 ** (Math.floor(Math.log2(Math.abs(v))) - bits + 1);
  return Math.round(v / q) * q;
}

/**
 * The centre subtracted from every row: the column means rounded to 4 significant bits. Any
 * centre gives the same distances; one near the mean keeps |x|^2 small, and a coarse one keeps
 * rows of small integers exact through the whole computation (the tests compare picks exactly).
 */
function centreOf(x: Float32Array, n: number, d: number): Float32Array {
  const sum = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) sum[k] += x[i * d + k];
  return Float32Array.from(sum, (s) => roundSignificant(s / n, 4));
}

function int64(v: ArrayLike<number>): ort.Tensor {
  const out = new BigInt64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = BigInt(v[i]);
  return new ort.Tensor('int64', out, [v.length]);
}

function gather(v: Float32Array, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = v[idx[i]];
  return out;
}

/** The rows at or above the level and beyond the rounding tolerance, ascending. */
function rowsFrom(minD: Float32Array, level: number, tol: number): Int32Array {
  let count = 0;
  for (let j = 0; j < minD.length; j++) if (minD[j] >= level && minD[j] > tol) count++;
  const out = new Int32Array(count);
  for (let j = 0, o = 0; j < minD.length; j++) if (minD[j] >= level && minD[j] > tol) out[o++] = j;
  return out;
}

/**
 * The level below `far`: RHO * far, at least the tolerance. Always under `far` (or the
 * tolerance), so the farthest row is picked in the next run: every run makes progress.
 */
function nextLevel(far: number, tol: number): number {
  const lower = Math.fround(RHO * far);
  return Math.max(lower < far ? lower : 0, tol);
}

interface Bank {
  x: ort.Tensor;
  mean: ort.Tensor;
}

/** minD[rows] = min(minD[rows], squared distances to `centres`), in blocks of rows; returns the rows' |x|^2. */
async function update(bank: Bank, rows: Int32Array, centres: Int32Array, minD: Float32Array): Promise<Float32Array> {
  const s = await getUpdate();
  const sq = new Float32Array(rows.length);
  const c = int64(centres);
  const block = Math.max(1, Math.min(UPDATE_BLOCK_ROWS, Math.floor(UPDATE_BLOCK_VALUES / centres.length)));
  for (let i0 = 0; i0 < rows.length; i0 += block) {
    const part = rows.subarray(i0, Math.min(rows.length, i0 + block));
    const r = await s.run({ x: bank.x, mean: bank.mean, rows: int64(part), centres: c });
    const best = r.min.data as Float32Array;
    for (let i = 0; i < part.length; i++) if (best[i] < minD[part[i]]) minD[part[i]] = best[i];
    sq.set(r.sq.data as Float32Array, i0);
  }
  return sq;
}

/**
 * Greedy k-centre on the rows of `x` (n x d): indices of up to m rows, in the order chosen,
 * starting at row 0, ties to the lowest row index. Stops early when every row coincides with a
 * chosen one: distances within the expansion's rounding bound (4 (d + 2) u max|x|^2, u the fp32
 * unit roundoff) count as 0, so exact duplicates never count as far.
 */
export async function greedyKCentreOrt(x: Float32Array, n: number, d: number, m: number): Promise<Int32Array> {
  if (x.length !== n * d) throw new Error(`greedyKCentreOrt: ${x.length} values for ${n} x ${d} rows`);
  m = Math.min(m, n);
  if (m <= 0) return new Int32Array(0);
  const bank: Bank = { x: new ort.Tensor('float32', x, [n, d]), mean: new ort.Tensor('float32', centreOf(x, n, d), [d]) };
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const minD = new Float32Array(n).fill(Infinity);
  const sq = await update(bank, all, Int32Array.of(0), minD); // step 1: distances to row 0
  let sqMax = 0;
  for (let i = 0; i < n; i++) sqMax = Math.max(sqMax, sq[i]);
  // Float32 values, so that the graph's stop test and the tests here agree to the bit.
  const tol = Math.fround(4 * (d + 2) * U * sqMax);
  let far = 0;
  for (let i = 0; i < n; i++) far = Math.max(far, minD[i]);
  let level = nextLevel(far, tol);
  // Per row: how many kept rows its distance has seen (it is exact up to those).
  const seen = new Int32Array(n).fill(1);
  const kept = new Int32Array(m);
  let chosen = 1;
  let active = rowsFrom(minD, level, tol);
  const steps = await getSteps();
  const inRun = new Uint8Array(n);
  while (chosen < m && active.length > 0) {
    const r = await steps.run({
      x: bank.x,
      mean: bank.mean,
      rows: int64(active),
      min_in: new ort.Tensor('float32', gather(minD, active), [1, active.length]),
      c: int64([kept[chosen - 1]]),
      steps: new ort.Tensor('int64', BigInt64Array.of(BigInt(m - chosen)), []),
      stop: new ort.Tensor('float32', Float32Array.of(level), []),
    });
    const minOut = r.min_out.data as Float32Array;
    for (let i = 0; i < active.length; i++) minD[active[i]] = minOut[i];
    const picks = r.picks.data as BigInt64Array;
    const fars = r.fars.data as Float32Array;
    let i = 0;
    for (; i < picks.length && fars[i] > level; i++) kept[chosen++] = active[Number(picks[i])];
    if (i === picks.length) break; // every step taken: m rows kept
    // The farthest row run is at or under the level (its pick is dropped): lower the level; rows
    // left out that may reach it are brought up to date, grouped by the kept rows they have seen.
    level = nextLevel(fars[i], tol);
    for (const j of active) inRun[j] = 1;
    const groups = new Map<number, number[]>();
    for (let j = 0; j < n; j++) {
      if (inRun[j] || !(minD[j] >= level) || seen[j] === chosen) continue;
      const list = groups.get(seen[j]);
      if (list) list.push(j);
      else groups.set(seen[j], [j]);
    }
    for (const [from, list] of groups) {
      await update(bank, Int32Array.from(list), kept.slice(from, chosen), minD);
      for (const j of list) seen[j] = chosen;
    }
    for (const j of active) {
      seen[j] = chosen;
      inRun[j] = 0;
    }
    active = rowsFrom(minD, level, tol);
  }
  return kept.slice(0, chosen);
}
