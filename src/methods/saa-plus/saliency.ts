/**
 * SAA+'s saliency prompt (docs/method.md §2): how unlike the rest of its own image each patch is.
 * Features of one image (here a backbone grid: SAM encoder embeddings by default, where SAA+
 * takes WideResNet50 layers 1-3 at 64x64), each patch L2-normalised; the dissimilarity of two
 * patches is D = 0.5 * (1 - cosine); a patch's saliency is the mean of its `top` largest
 * dissimilarities to all patches of the image (SAA+: 400 of 64x64 = 4096). The grid is then
 * upsampled bilinearly to the image, as SAA+'s cv2.resize, without smoothing.
 *
 * A defect is a small set of patches unlike the many normal ones, so its patches find many
 * dissimilar partners and score high; a normal patch finds mostly similar ones. The all-pairs
 * product is one MatMul + TopK on onnxruntime (n = 4096 patches: 4 G multiply-adds).
 */
import * as ort from 'onnxruntime-node';
import { DT, GraphBuilder } from '../../models/onnx/graph.js';
import { sessionOptions } from '../../models/onnx/session-options.js';
import type { FeatureGrid } from '../../models/backbones/types.js';
import { normaliseRowsInPlace } from '../../util/rows.js';
import { gridToMap } from '../components/score-map.js';

let session: Promise<ort.InferenceSession> | undefined;

/** X [n, d] (rows normalised), k [1] -> 0.5 * (1 - mean of the k smallest cosines per row) [n]. */
function buildGraph(): Uint8Array {
  const g = new GraphBuilder('self-dissimilarity');
  const x = g.input('patches', DT.FLOAT, ['n', 'd']);
  g.input('k', DT.INT64, [1]);
  const sim = g.op('MatMul', [x, g.op('Transpose', [x], { perm: [1, 0] })]);
  const [smallest] = g.opMulti('TopK', [sim, 'k'], 2, { axis: 1, largest: 0, sorted: 0 });
  const mean = g.op('ReduceMean', [smallest], { axes: [1], keepdims: 0 });
  g.op('Mul', [g.op('Sub', [g.constF32([1], [1]), mean]), g.constF32([0.5], [1])], {}, 'saliency');
  g.output('saliency', DT.FLOAT, ['n']);
  return g.toBytes(13);
}

function getSession(): Promise<ort.InferenceSession> {
  session ??= ort.InferenceSession.create(buildGraph(), sessionOptions());
  return session;
}

/** Number of dissimilarities averaged per patch: `fraction` of the patches, at least 1. */
export function saliencyTop(patches: number, fraction: number): number {
  return Math.min(patches, Math.max(1, Math.round(fraction * patches)));
}

/** Saliency per grid cell (row-major gridHeight x gridWidth), in [0, 1]. */
export async function gridSaliency(grid: FeatureGrid, fraction: number): Promise<Float32Array> {
  const n = grid.gridWidth * grid.gridHeight;
  const d = grid.dim;
  const x = normaliseRowsInPlace(grid.data.slice(0, n * d), n, d);
  const out = await (await getSession()).run({
    patches: new ort.Tensor('float32', x, [n, d]),
    k: new ort.Tensor('int64', BigInt64Array.from([BigInt(saliencyTop(n, fraction))]), [1]),
  });
  return out.saliency.data as Float32Array;
}

/** The image's saliency map at its size: grid saliency upsampled bilinearly over the area the grid covers. */
export async function saliencyMap(grid: FeatureGrid, width: number, height: number, fraction: number): Promise<Float32Array> {
  return gridToMap(await gridSaliency(grid, fraction), grid, width, height, width, height);
}
