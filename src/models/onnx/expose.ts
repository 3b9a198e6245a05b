/**
 * Graph surgery for feature extraction: exports expose only their final output (a classifier's
 * logits, a SAM encoder's embedding), so the intermediate tensors a few-shot map needs are added
 * as extra graph outputs; the graph's own outputs stay, so one run gives both. In a statically
 * quantised export (QLinearConv...) an intermediate tensor `X_quantized` is uint8 with its scale
 * and zero point stored as initializers `X_scale`, `X_zero_point`; a DequantizeLinear node is
 * appended so that the new output is float32 like in a float model.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface ExposedOutput {
  /** The tensor asked for. */
  tensor: string;
  /** The graph output that carries it as float32. */
  output: string;
  dequantized: boolean;
}

export function listTensorNames(modelBytes: Uint8Array): string[] {
  const model = onnx.ModelProto.decode(modelBytes);
  const names: string[] = [];
  for (const n of model.graph?.node ?? []) for (const o of n.output ?? []) names.push(o);
  return names;
}

/**
 * Returns the model with `tensors` added as float32 graph outputs. With `freeSpatialInput`, the
 * spatial dims (2, 3) of every graph input become symbolic, so a CNN exported at 224x224 runs at
 * other sizes (convolutions do not care; stored shape annotations of inner tensors are dropped).
 */
export function exposeTensors(
  modelBytes: Uint8Array,
  tensors: string[],
  opts: { freeSpatialInput?: boolean } = {},
): { bytes: Uint8Array; outputs: ExposedOutput[] } {
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph) throw new Error('ONNX model has no graph');
  if (opts.freeSpatialInput) {
    for (const input of graph.input ?? []) {
      const dims = input.type?.tensorType?.shape?.dim;
      if (!dims || dims.length !== 4) continue;
      dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'height' });
      dims[3] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'width' });
    }
    graph.valueInfo = [];
  }
  const produced = new Set<string>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) produced.add(o);
  const initialisers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const existingOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const outputs: ExposedOutput[] = [];
  for (const tensor of tensors) {
    if (!produced.has(tensor)) {
      const near = [...produced].filter((p) => p.includes(tensor.replace(/_quantized$/, ''))).slice(0, 5);
      throw new Error(`ONNX model has no tensor '${tensor}'${near.length ? ` (similar: ${near.join(', ')})` : ''}`);
    }
    const base = tensor.endsWith('_quantized') ? tensor.slice(0, -'_quantized'.length) : null;
    const quantised = base !== null && initialisers.has(`${base}_scale`) && initialisers.has(`${base}_zero_point`);
    let output = tensor;
    if (quantised) {
      output = `${base}_features_f32`;
      graph.node!.push(
        onnx.NodeProto.create({
          name: `${output}_DequantizeLinear`,
          opType: 'DequantizeLinear',
          input: [tensor, `${base}_scale`, `${base}_zero_point`],
          output: [output],
        }),
      );
    }
    if (!existingOutputs.has(output)) {
      graph.output!.push(
        onnx.ValueInfoProto.create({
          name: output,
          type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: onnx.TensorProto.DataType.FLOAT }) }),
        }),
      );
      existingOutputs.add(output);
    }
    outputs.push({ tensor, output, dequantized: quantised });
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), outputs };
}
