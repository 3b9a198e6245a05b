/**
 * An SPT model on disk: two decoders in sam.onnx's contract (same inputs and outputs), each a copy
 * of the base export with its LoRA merged into the weight initializers and the relation adapter
 * added as ONNX nodes, and one provenance record:
 *
 *   <out>/draft.onnx                 the draft decoder
 *   <out>/sam.onnx                   the refining decoder; metadata `iapas.spt.draft` = draft.onnx
 *                                    and `iapas.spt.draft_sha256`, so a reader of sam.decoder finds
 *                                    the draft (models/sam/spt-decoder.ts) and runs draft then refine
 *   <out>/sam.onnx.provenance.json   config, data hashes, losses, seed, code version, both sha256s
 *
 * The adapter's nodes (relation.ts's maths): from `image_embeddings`, the unit tokens X [4096,256],
 * the relation R = Softmax(X U^T) with U the cell means of X (pool > 1) or X with the diagonal
 * masked (pool 1); after block b's norm4, keys' = keys + (R @ (P @ keys)) * scale_b, and every
 * later reader of the keys reads keys'. The refiner alone is still a valid sam.onnx decoder: given
 * the draft's low-res logits as its mask input it is SPT's second pass.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { SptSettings } from '../../config/schema.js';
import { GraphBuilder } from '../../models/onnx/graph.js';
import type { DecoderWeights } from '../../models/sam/decoder-weights.js';
import { withMetadata } from '../../models/sam/decoder-output.js';
import { SPT_DRAFT_FILE_KEY, SPT_DRAFT_SHA_KEY, SPT_ROLE_KEY } from '../../models/sam/spt-decoder.js';
import { sha256 } from '../../util/hash.js';
import type { CodeVersion } from '../../util/version.js';
import { fileStamp, TUNED_DECODER_FILE, tunedDecoderBytes, writeProvenance, type SyntheticProvenance } from '../export.js';
import type { LoraArrays, LoraConfig } from '../lora.js';
import { passLora, passScales, type Pass } from './params.js';
import { DIAGONAL_MASK, NORM_EPS, poolMatrix, TOKENS } from './relation.js';
import { CHANNELS, GRID } from '../prompt-embedding.js';

const { onnx } = onnxProto;

export const DRAFT_DECODER_FILE = 'draft.onnx';

export interface SptProvenance {
  format: 'iapas-spt-sam-decoder/1';
  base_sha256: string;
  /** sha256 of the refining decoder (sam.onnx) and of the draft. */
  sha256: string;
  draft: { file: string; sha256: string };
  method: 'spt';
  lora: LoraConfig;
  spt: SptSettings;
  seed: number;
  steps: number;
  config: unknown;
  data: Array<{ name: string; root?: string; sha256: string; images: number }>;
  holdout?: string[];
  images_sha256?: string[];
  synthetic?: SyntheticProvenance;
  losses: number[];
  code: CodeVersion;
  created: string;
}

const NORM4 = /^\/transformer\/layers\.(\d+)\/norm4\/LayerNormalization$/;

/** A copy of a SamOnnxModel decoder with the relation adapter after each block (one scale per block). */
export function withRelationAdapter(bytes: Uint8Array, scales: Float32Array[], pool: number): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph?.node) throw new Error('SPT export: the decoder has no graph');
  const nodes = graph.node;
  const norms = nodes.filter((n) => n.opType === 'LayerNormalization' && NORM4.test(n.name ?? ''));
  if (norms.length !== scales.length) throw new Error(`SPT export: expected ${scales.length} transformer blocks (norm4 nodes), found ${norms.length}`);
  const taken = new Set([...nodes.flatMap((n) => [...(n.output ?? []), n.name ?? '']), ...(graph.initializer ?? []).map((t) => t.name ?? '')]);

  const rel = new GraphBuilder('spt_relation');
  const x = rel.op('Transpose', [rel.op('Reshape', ['image_embeddings', rel.constI64([CHANNELS, TOKENS], [2])])], { perm: [1, 0] });
  const unit = rel.op('Div', [x, rel.op('Add', [rel.op('ReduceL2', [x], { axes: [1], keepdims: 1 }), rel.constF32([NORM_EPS], [])])]);
  const cellMeans = pool > 1 ? rel.constF32(poolMatrix(pool), [(GRID / pool) ** 2, TOKENS]) : undefined;
  const cells = cellMeans ? rel.op('MatMul', [cellMeans, unit]) : unit;
  let logits = rel.op('MatMul', [unit, rel.op('Transpose', [cells], { perm: [1, 0] })]);
  if (!cellMeans) logits = rel.op('Add', [logits, rel.op('Mul', [rel.op('EyeLike', [logits]), rel.constF32([DIAGONAL_MASK], [])])]);
  const relation = rel.op('Softmax', [logits], { axis: -1 });
  const parts: Array<{ proto: { node: unknown[]; initializer: unknown[] }; after?: number }> = [{ proto: rel.graphProto() as never }];

  for (const norm of norms) {
    const block = Number(NORM4.exec(norm.name!)![1]);
    const keys = norm.output![0];
    const b = rel.subgraph(`spt_block_${block}`);
    const pooled = cellMeans ? b.op('MatMul', [cellMeans, keys]) : keys;
    const adapted = b.op('Add', [keys, b.op('Mul', [b.op('MatMul', [relation, pooled]), b.constF32(scales[block], [CHANNELS])])], {}, `${keys}_spt`);
    for (const n of nodes) if (n !== norm) n.input = (n.input ?? []).map((i) => (i === keys ? adapted : i));
    parts.push({ proto: b.graphProto() as never, after: nodes.indexOf(norm) });
  }
  for (const p of parts) {
    for (const n of p.proto.node as Array<{ output: string[] }>) if (n.output.some((o) => taken.has(o))) throw new Error(`SPT export: name ${n.output[0]} is already in the decoder`);
  }
  // Later positions first, so the earlier indices stay valid; the relation goes first of all.
  for (const p of [...parts].sort((a, b) => (b.after ?? -1) - (a.after ?? -1))) {
    nodes.splice((p.after ?? -1) + 1, 0, ...(p.proto.node as never[]));
    graph.initializer = [...(graph.initializer ?? []), ...(p.proto.initializer as never[])];
  }
  graph.valueInfo = [];
  return onnx.ModelProto.encode(model).finish();
}

/** One pass's decoder bytes: LoRA merged, then the adapter (when it has scales). */
export function passDecoderBytes(base: Uint8Array, weights: DecoderWeights, params: LoraArrays, pass: Pass, lora: LoraConfig, spt: SptSettings): Uint8Array {
  const merged = tunedDecoderBytes(base, weights, passLora(params, pass), lora);
  const scales = passScales(params, pass);
  return scales.length ? withRelationAdapter(merged, scales, spt.relation_pool) : merged;
}

/** Writes draft.onnx, sam.onnx (the refiner, naming its draft) and the provenance; returns sam.onnx's path. */
export async function writeSptDecoders(
  dir: string,
  base: Uint8Array,
  weights: DecoderWeights,
  params: LoraArrays,
  lora: LoraConfig,
  spt: SptSettings,
  record: Omit<SptProvenance, 'format' | 'base_sha256' | 'sha256' | 'draft' | 'lora' | 'spt' | 'method' | 'code' | 'created'>,
): Promise<string> {
  const draft = withMetadata(passDecoderBytes(base, weights, params, 'draft', lora, spt), { [SPT_ROLE_KEY]: 'draft' });
  const draftSha = sha256(draft);
  const refine = withMetadata(passDecoderBytes(base, weights, params, 'refine', lora, spt), {
    [SPT_ROLE_KEY]: 'refine',
    [SPT_DRAFT_FILE_KEY]: DRAFT_DECODER_FILE,
    [SPT_DRAFT_SHA_KEY]: draftSha,
  });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, DRAFT_DECODER_FILE), draft);
  const path = join(dir, TUNED_DECODER_FILE);
  await writeFile(path, refine);
  const provenance: SptProvenance = {
    format: 'iapas-spt-sam-decoder/1',
    ...fileStamp(base, refine),
    draft: { file: DRAFT_DECODER_FILE, sha256: draftSha },
    method: 'spt',
    lora,
    spt,
    ...record,
  };
  await writeProvenance(dir, provenance);
  return path;
}
