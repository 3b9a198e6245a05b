/**
 * Loss and LoRA gradients of one decoder pass, split where jax-js is fast: the two-way
 * transformer (the only part with LoRA) forward and backward each run compiled under `jit`,
 * the frozen head (upscaling, hypernetworks, IoU head) and the loss run eagerly with
 * `valueAndGrad` in the transformer's two outputs, whose cotangents feed the compiled backward.
 * One `jit(valueAndGrad)` of the whole step is slower here (the GELU derivative of the head fused
 * into a matmul backward runs ~30x slower than eagerly), and a fully eager step spends most of its
 * time dispatching the transformer's many small kernels.
 *
 * The compiled backward recomputes the transformer forward from its inputs (rematerialisation):
 * cheaper here than keeping jax-js's eager tape of the 4096-token attentions.
 */
import { grad, jit, numpy as np, valueAndGrad } from '@jax-js/jax';
import { decoderHead, decoderSource, decoderTransformer, type DecoderInput, type DecoderOutput, type Frozen, type Lora, type TransformerOutput } from './decoder-forward.js';
import { loraScale, toJaxLora, type LoraArrays, type LoraConfig } from './lora.js';

/** Module -> flat gradients of down and up, as the optimizer reads them. */
export type GradArrays = Record<string, { down: Float32Array; up: Float32Array }>;

type Forward = (lora: Lora, src: np.Array, sparse: np.Array) => TransformerOutput;
type Backward = (lora: Lora, src: np.Array, sparse: np.Array, gq: np.Array, gk: np.Array) => Lora;

interface Compiled {
  forward: Forward;
  backward: Backward;
}

// jit compiles once per argument shapes; keeping the functions per (frozen tree, scale) keeps
// those compilations across steps and passes.
const compiledByFrozen = new WeakMap<Frozen, Map<number, Compiled>>();

function compiled(frozen: Frozen, scale: number): Compiled {
  let byScale = compiledByFrozen.get(frozen);
  if (!byScale) compiledByFrozen.set(frozen, (byScale = new Map()));
  let c = byScale.get(scale);
  if (!c) {
    const forward = jit((lora: Lora, src: np.Array, sparse: np.Array) => decoderTransformer(frozen, lora, scale, src, sparse));
    const backward = jit((lora: Lora, src: np.Array, sparse: np.Array, gq: np.Array, gk: np.Array) =>
      grad((l: Lora) => {
        const t = decoderTransformer(frozen, l, scale, src, sparse);
        return t.queries.mul(gq).sum().add(t.keys.mul(gk).sum());
      })(lora),
    );
    c = { forward: forward as unknown as Forward, backward: backward as unknown as Backward };
    byScale.set(scale, c);
  }
  return c;
}

function disposeLora(l: Lora): void {
  for (const p of Object.values(l)) {
    p.down.dispose();
    p.up.dispose();
  }
}

function refLora(l: Lora): Lora {
  const out: Lora = {};
  for (const [k, p] of Object.entries(l)) out[k] = { down: p.down.ref, up: p.up.ref };
  return out;
}

/**
 * One decoder pass under the current LoRA: the transformer has run (compiled); the head runs on
 * demand, without gradient (`output`) or with the loss's gradient (`valueAndGrad`). Dispose it
 * when done.
 */
export class DecoderPass {
  private readonly scale: number;
  private readonly lora: Lora;
  private readonly src: np.Array;
  private readonly sparse: np.Array;
  private readonly t: TransformerOutput;

  constructor(
    private readonly frozen: Frozen,
    lora: LoraArrays,
    config: LoraConfig,
    private readonly input: DecoderInput,
  ) {
    this.scale = loraScale(config);
    this.lora = toJaxLora(lora, config.rank);
    this.src = decoderSource(frozen, input.tokens, input.mask);
    this.sparse = input.sparse;
    this.t = compiled(frozen, this.scale).forward(refLora(this.lora), this.src.ref, this.sparse.ref);
  }

  /** The head's outputs, no gradient; the caller owns them. */
  output(): DecoderOutput {
    return decoderHead(this.frozen, { queries: this.t.queries.ref, keys: this.t.keys.ref }, this.input.numPoints);
  }

  /** The value of `loss` on this pass and its gradient in the LoRA parameters. */
  valueAndGrad(loss: (out: DecoderOutput) => np.Array): { loss: number; grads: GradArrays } {
    const n = this.input.numPoints;
    const headLoss = (queries: np.Array, keys: np.Array): np.Array => loss(decoderHead(this.frozen, { queries, keys }, n));
    const [value, [gq, gk]] = valueAndGrad(headLoss, { argnums: [0, 1] })(this.t.queries.ref, this.t.keys.ref);
    const g = compiled(this.frozen, this.scale).backward(refLora(this.lora), this.src.ref, this.sparse.ref, gq, gk);
    const grads: GradArrays = {};
    for (const [k, p] of Object.entries(g)) grads[k] = { down: p.down.dataSync() as Float32Array, up: p.up.dataSync() as Float32Array };
    return { loss: value.dataSync()[0], grads };
  }

  dispose(): void {
    disposeLora(this.lora);
    this.src.dispose();
    this.sparse.dispose();
    this.t.queries.dispose();
    this.t.keys.dispose();
  }
}

/** Loss and gradients of one pass; consumes `input`'s arrays. */
export function splitValueAndGrad(
  frozen: Frozen,
  lora: LoraArrays,
  config: LoraConfig,
  input: DecoderInput,
  loss: (out: DecoderOutput) => np.Array,
): { loss: number; grads: GradArrays } {
  const pass = new DecoderPass(frozen, lora, config, input);
  try {
    return pass.valueAndGrad(loss);
  } finally {
    pass.dispose();
  }
}
