/**
 * The weights of a segment-anything SamOnnxModel decoder export, by module name, and a copy of
 * the export with some weight matrices replaced (how a tuned decoder keeps the same ONNX contract).
 *
 * Biases and norms keep their module names as initializer names
 * (`mask_decoder.transformer.layers.0.self_attn.q_proj.bias`); the linear layers' weights are
 * stored transposed, [in, out], under anonymous names (`onnx::MatMul_1926`), but the MatMul node
 * that reads each is named after its module (`/transformer/layers.0/self_attn/q_proj/MatMul`).
 * The name map is therefore read from the graph itself, never hard-coded: another export of the
 * same architecture numbers its anonymous initializers differently.
 */
import onnxProto from 'onnx-proto';
import { UserError } from '../../util/errors.js';

const { onnx } = onnxProto;
const FLOAT = 1;

export interface DecoderWeight {
  /** The initializer's name in the graph. */
  initializer: string;
  dims: number[];
  data: Float32Array;
}

export interface DecoderWeights {
  /** Module name -> weight; linear weights as `<module>.weight_t` ([in, out], as the graph holds them). */
  byModule: Map<string, DecoderWeight>;
}

function floatsOf(t: onnxProto.onnx.ITensorProto): Float32Array {
  if (t.dataType !== FLOAT) throw new UserError(`SAM decoder: initializer ${t.name} is not float32 (data type ${t.dataType})`);
  if (t.rawData && t.rawData.length > 0) {
    // A copy: the protobuf buffer's offset need not be 4-aligned.
    const bytes = new Uint8Array(t.rawData);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  }
  return Float32Array.from(t.floatData ?? []);
}

/** `/transformer/layers.0/self_attn/q_proj/MatMul` -> `mask_decoder.transformer.layers.0.self_attn.q_proj` */
function moduleOfMatMul(nodeName: string): string | undefined {
  const m = /^\/(.+)\/MatMul$/.exec(nodeName);
  return m ? `mask_decoder.${m[1].replace(/\//g, '.')}` : undefined;
}

function decode(bytes: Uint8Array): InstanceType<typeof onnx.ModelProto> {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new UserError(`SAM decoder: not an ONNX model (${(err as Error).message})`, { cause: err });
  }
}

/** Every named and MatMul-read float initializer of a decoder export, keyed by module name. */
export function readDecoderWeights(bytes: Uint8Array): DecoderWeights {
  const graph = decode(bytes).graph;
  if (!graph) throw new UserError('SAM decoder: the ONNX file has no graph');
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const byModule = new Map<string, DecoderWeight>();
  for (const t of inits.values()) {
    const name = t.name ?? '';
    if (name.startsWith('onnx::') || t.dataType !== FLOAT) continue;
    byModule.set(name, { initializer: name, dims: (t.dims ?? []).map(Number), data: floatsOf(t) });
  }
  for (const node of graph.node ?? []) {
    if (node.opType !== 'MatMul') continue;
    const module = moduleOfMatMul(node.name ?? '');
    const w = (node.input ?? []).find((i) => i.startsWith('onnx::MatMul_') && inits.has(i));
    if (!module || !w) continue;
    const t = inits.get(w)!;
    byModule.set(`${module}.weight_t`, { initializer: w, dims: (t.dims ?? []).map(Number), data: floatsOf(t) });
  }
  for (const [module, t] of anonymousModules(graph.node ?? [], inits)) {
    byModule.set(module, { initializer: t.name ?? '', dims: (t.dims ?? []).map(Number), data: floatsOf(t) });
  }
  return { byModule };
}

/**
 * The anonymous non-MatMul initializers, named by the node that reads them: the LayerNorm2d
 * scales and shifts (exported as Mul/Add under `/<module>/<module>.<i>/`), the no-mask embedding
 * (the only [1,256,1,1] Mul operand) and the output tokens (iou token then 4 mask tokens, the
 * [1,5,256] operand of an Expand).
 */
function anonymousModules(
  nodes: onnxProto.onnx.INodeProto[],
  inits: Map<string, onnxProto.onnx.ITensorProto>,
): Map<string, onnxProto.onnx.ITensorProto> {
  const out = new Map<string, onnxProto.onnx.ITensorProto>();
  const prefix: Record<string, string> = { mask_downscaling: 'model.prompt_encoder.mask_downscaling', output_upscaling: 'mask_decoder.output_upscaling' };
  for (const node of nodes) {
    const w = (node.input ?? []).find((i) => i.startsWith('onnx::') && !i.startsWith('onnx::MatMul_') && inits.has(i));
    if (!w) continue;
    const t = inits.get(w)!;
    const dims = (t.dims ?? []).map(Number).join('x');
    const norm = /^\/(mask_downscaling|output_upscaling)\/\1\.(\d+)\/(Mul|Add_1)$/.exec(node.name ?? '');
    if (norm) out.set(`${prefix[norm[1]]}.${norm[2]}.${norm[3] === 'Mul' ? 'weight' : 'bias'}`, t);
    else if (node.opType === 'Mul' && dims === '1x256x1x1') out.set('model.prompt_encoder.no_mask_embed.weight', t);
    else if (node.opType === 'Expand' && dims === '1x5x256') out.set('mask_decoder.output_tokens', t);
  }
  return out;
}

/**
 * A copy of the decoder export with the named initializers' values replaced (same names, shapes,
 * graph and inputs/outputs, so every reader of sam.onnx takes it). A replacement of another size
 * or an unknown initializer is an error, so a half-written decoder never reaches a run.
 */
export function replaceInitializers(bytes: Uint8Array, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  const model = decode(bytes);
  const left = new Set(values.keys());
  for (const t of model.graph?.initializer ?? []) {
    const v = values.get(t.name ?? '');
    if (!v) continue;
    const size = (t.dims ?? []).map(Number).reduce((a, b) => a * b, 1);
    if (v.length !== size) throw new Error(`replaceInitializers: ${t.name} holds ${size} values, got ${v.length}`);
    t.rawData = new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
    t.floatData = [];
    left.delete(t.name ?? '');
  }
  if (left.size > 0) throw new Error(`replaceInitializers: no initializer named ${[...left].join(', ')}`);
  return onnx.ModelProto.encode(model).finish();
}

/**
 * LoRA merged into a transposed linear weight: W_t + (alpha / rank) * (A B)^T, with the delta
 * A [out, rank] B [rank, in] in PyTorch's [out, in] orientation and W_t stored [in, out].
 */
export function mergeLora(weightT: Float32Array, dimsT: number[], a: Float32Array, b: Float32Array, rank: number, alpha: number): Float32Array {
  const [inDim, outDim] = dimsT;
  if (a.length !== outDim * rank || b.length !== rank * inDim) {
    throw new Error(`mergeLora: A must be ${outDim}x${rank} and B ${rank}x${inDim}, got ${a.length} and ${b.length} values`);
  }
  const scale = alpha / rank;
  const out = weightT.slice();
  for (let i = 0; i < inDim; i++) {
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let r = 0; r < rank; r++) s += a[o * rank + r] * b[r * inDim + i];
      out[i * outDim + o] += scale * s;
    }
  }
  return out;
}
