/**
 * A small ONNX graph writer on the `onnx-proto` protobuf definitions. It exists so that tests can
 * build tiny models with exactly the input/output names, dtypes and ranks of the real exports and
 * run them through onnxruntime-node, without shipping any binary fixture; the methods build their
 * small compute graphs with it too (matrix products, the coreset's greedy Loop). Control-flow
 * bodies (Loop, If, Scan) are builders made with `subgraph()` and passed as `{ graph }` attributes.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType codes used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type ElemType = (typeof DT)[keyof typeof DT];

type Dim = number | string;
type AttrValue = number | number[] | string | { f: number } | { floats: number[] } | { graph: GraphBuilder };

function valueInfo(name: string, elemType: ElemType, dims: Dim[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if (typeof v === 'object' && 'f' in v) return { name, type: A.FLOAT, f: v.f };
  if (typeof v === 'object' && 'floats' in v) return { name, type: A.FLOATS, floats: v.floats };
  if (typeof v === 'object' && 'graph' in v) return { name, type: A.GRAPH, g: v.graph.graphProto() };
  return { name, type: A.INT, i: v };
}

function rawBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export class GraphBuilder {
  private readonly nodes: unknown[] = [];
  private readonly initializers: unknown[] = [];
  private readonly inputs: unknown[] = [];
  private readonly outputs: unknown[] = [];
  /** Shared with the subgraphs, so that no generated name in a body shadows one of the outer graph. */
  private readonly counter: { next: number };

  constructor(
    readonly name = 'tiny',
    counter?: { next: number },
  ) {
    this.counter = counter ?? { next: 0 };
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter.next++}`;
  }

  /**
   * A body graph for a control-flow node (Loop, If, Scan), passed to it as `{ graph: body }`. The
   * body may read any value of the enclosing graph by name; its own inputs and outputs are
   * declared with `input`/`output` in the order the operator defines (Loop: iteration number,
   * condition, loop-carried values -> condition, loop-carried values, scan outputs).
   */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.counter);
  }

  input(name: string, elemType: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: ElemType, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  private initializer(elemType: ElemType, dims: number[], raw: Uint8Array, name?: string): string {
    const n = name ?? this.fresh('const');
    this.initializers.push({ name: n, dataType: elemType, dims, rawData: raw });
    return n;
  }

  constF32(values: ArrayLike<number>, dims: number[], name?: string): string {
    return this.initializer(DT.FLOAT, dims, rawBytes(Float32Array.from(values)), name);
  }

  constBool(values: ArrayLike<boolean>, dims: number[], name?: string): string {
    return this.initializer(DT.BOOL, dims, Uint8Array.from(values, (v) => (v ? 1 : 0)), name);
  }

  constI64(values: ArrayLike<number>, dims: number[], name?: string): string {
    const a = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) a[i] = BigInt(values[i]);
    return this.initializer(DT.INT64, dims, rawBytes(a), name);
  }

  /** Adds a node and returns the name of its (first) output. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    this.nodes.push({
      opType,
      name: this.fresh(`n_${opType}`),
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** Adds a node with several outputs (e.g. TopK's values and indices) and returns their names. */
  opMulti(opType: string, inputs: string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      name: this.fresh(`n_${opType}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** The GraphProto fields of this graph (a subgraph's attribute value, or the model's graph). */
  graphProto(): object {
    return { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }

  /** Serialises to ONNX bytes (IR 7, default-domain opset 13). */
  toBytes(opset = 13): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 7,
      producerName: 'iapas-tiny',
      opsetImport: [{ domain: '', version: opset }],
      graph: this.graphProto() as never,
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
