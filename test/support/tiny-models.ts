/**
 * Tiny stand-ins for Grounding DINO and RAM: ONNX graphs with exactly the input/output names,
 * dtypes and ranks of the real exports, whose outputs are a known function of their inputs. Tests
 * (and the pipeline's end-to-end test) use them to drive the real adapters through onnxruntime-node.
 *
 * Grounding DINO stand-in: for each query q and text position t,
 *   logit[q, t] = logit(p) if input_ids[t] is a token listed for q with probability p, else baseLogit,
 *   minus 1e4 where attention_mask is 0, and -inf for t >= seq_len (padding up to max_text_len),
 * as the real model pads its 256 text columns. pred_boxes are the caller's boxes; the last query is a
 * probe whose "box" reports pre-processing: [sigmoid(mean of normalised red channel),
 * mean(pixel_mask) (HF; -1 when omitted) or sum(position_ids)/1000 + sum(text_token_mask)/1e6 (IDEA), H/2000, W/2000].
 *
 * RAM stand-in: logits[c] = baseLogit + sum over the caller's tags of their logit(p) - baseLogit, plus
 * probeScale * mean(normalised image) on tag index `probeTag` (when given).
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DT, GraphBuilder } from '../../src/models/onnx/graph.js';
import { SHARED } from './shared.js';

/** The BERT uncased tokenizer and RAM's tag list in ../shared (tests that use them skip without it). */
export const DEFAULT_BERT_DIR = SHARED.bertTokenizer;
export const DEFAULT_RAM_DIR = SHARED.ramDir;

export const logit = (p: number): number => Math.log(p / (1 - p));

export interface TinyGdinoQuery {
  /** Normalised (cx, cy, w, h), as the real model's pred_boxes. */
  box: [number, number, number, number];
  /** Probability per BERT wordpiece (as spelled in vocab.txt, e.g. 'scratch', '##s', '.'). */
  tokens: Record<string, number>;
}

export interface TinyGdinoSpec {
  queries: TinyGdinoQuery[];
  /** Total queries including filler and the probe (real model: 900). */
  numQueries?: number;
  /** Width of the logits' text axis (real model: 256). */
  maxTextLen?: number;
  /** 'hf': onnx-community export (default); 'idea': IDEA-Research original export names. */
  layout?: 'hf' | 'idea';
  /** Logit of every (query, token) pair not listed (default -10, probability 4.5e-5). */
  baseLogit?: number;
  /** File name under onnx/ (default model.onnx). */
  modelFile?: string;
  tokenizerDir?: string;
  /** Leave optional inputs out of the graph, as some exports do. */
  omitInputs?: Array<'attention_mask' | 'token_type_ids' | 'pixel_mask'>;
}

export interface TinyGdinoInfo {
  dir: string;
  modelPath: string;
  /** Index of the probe query (its box reports pre-processing; its logits stay at baseLogit). */
  probeQuery: number;
  numQueries: number;
}

export async function loadVocab(tokenizerDir = DEFAULT_BERT_DIR): Promise<Map<string, number>> {
  const lines = (await readFile(join(tokenizerDir, 'vocab.txt'), 'utf8')).split('\n');
  const m = new Map<string, number>();
  lines.forEach((l, i) => {
    const t = l.replace(/\r$/, '');
    if (t && !m.has(t)) m.set(t, i);
  });
  return m;
}

/** The HF preprocessor_config.json of IDEA-Research/grounding-dino-tiny (also in the onnx-community copy). */
export const GDINO_PREPROCESSOR_CONFIG = {
  do_normalize: true,
  do_pad: true,
  do_rescale: true,
  do_resize: true,
  format: 'coco_detection',
  image_mean: [0.485, 0.456, 0.406],
  image_processor_type: 'GroundingDinoImageProcessor',
  image_std: [0.229, 0.224, 0.225],
  processor_class: 'GroundingDinoProcessor',
  resample: 2,
  rescale_factor: 0.00392156862745098,
  size: { longest_edge: 1333, shortest_edge: 800 },
};

/** Writes a hub-layout folder: onnx/<model>.onnx, tokenizer files, config.json, preprocessor_config.json. */
export async function buildTinyGroundingDino(dir: string, spec: TinyGdinoSpec): Promise<TinyGdinoInfo> {
  const layout = spec.layout ?? 'hf';
  const Q = spec.numQueries ?? 900;
  const maxLen = spec.maxTextLen ?? 256;
  const base = spec.baseLogit ?? -10;
  if (spec.queries.length > Q - 1) throw new Error(`tiny gdino: ${spec.queries.length} queries need numQueries > ${spec.queries.length}`);
  const tokDir = spec.tokenizerDir ?? DEFAULT_BERT_DIR;
  const vocab = await loadVocab(tokDir);

  // One column per distinct token id listed anywhere; S[k, q] = logit(p) - base.
  const ids: number[] = [];
  const col = new Map<number, number>();
  for (const q of spec.queries) {
    for (const tok of Object.keys(q.tokens)) {
      const id = vocab.get(tok);
      if (id === undefined) throw new Error(`tiny gdino: '${tok}' is not a wordpiece in vocab.txt`);
      if (!col.has(id)) {
        col.set(id, ids.length);
        ids.push(id);
      }
    }
  }
  if (ids.length === 0) ids.push(0); // a [PAD] column with zero weight keeps the graph valid
  const K = ids.length;
  const S = new Float32Array(K * Q);
  spec.queries.forEach((q, qi) => {
    for (const [tok, p] of Object.entries(q.tokens)) S[col.get(vocab.get(tok)!)! * Q + qi] = logit(p) - base;
  });

  const g = new GraphBuilder('tiny-grounding-dino');
  const hf = layout === 'hf';
  const pix = g.input(hf ? 'pixel_values' : 'img', DT.FLOAT, ['batch_size', 3, 'height', 'width']);
  const keep = (n: 'attention_mask' | 'token_type_ids' | 'pixel_mask') => !(spec.omitInputs ?? []).includes(n);
  g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  if (keep('attention_mask')) g.input('attention_mask', hf ? DT.INT64 : DT.BOOL, ['batch_size', 'sequence_length']);
  if (!hf) g.input('position_ids', DT.INT64, ['batch_size', 'sequence_length']);
  if (keep('token_type_ids')) g.input('token_type_ids', DT.INT64, ['batch_size', 'sequence_length']);
  if (hf && keep('pixel_mask')) g.input('pixel_mask', DT.INT64, ['batch_size', 'height', 'width']);
  if (!hf) g.input('text_token_mask', DT.BOOL, ['batch_size', 'sequence_length', 'sequence_length']);

  const axes = (a: number[]) => g.constI64(a, [a.length]);
  const idsU = g.op('Unsqueeze', ['input_ids', axes([2])]);
  const eq = g.op('Cast', [g.op('Equal', [idsU, g.constI64(ids, [K])])], { to: DT.FLOAT });
  const tokLogits = g.op('Add', [g.op('MatMul', [eq, g.constF32(S, [K, Q])]), g.constF32([base], [1])]);
  let masked = tokLogits;
  if (keep('attention_mask')) {
    const am = g.op('Cast', ['attention_mask'], { to: DT.FLOAT });
    const pen = g.op('Mul', [g.op('Sub', [am, g.constF32([1], [1])]), g.constF32([1e4], [1])]);
    masked = g.op('Add', [tokLogits, g.op('Unsqueeze', [pen, axes([2])])]);
  }
  const perQuery = g.op('Transpose', [masked], { perm: [0, 2, 1] });
  const negInf = g.constF32(new Float32Array(Q * maxLen).fill(-Infinity), [1, Q, maxLen]);
  const padded = g.op('Concat', [perQuery, negInf], { axis: 2 });
  g.op('Slice', [padded, g.constI64([0], [1]), g.constI64([maxLen], [1]), axes([2])], {}, 'logits');
  g.output('logits', DT.FLOAT, ['batch_size', Q, maxLen]);

  // Probe query: what the adapter fed in, readable from the last box.
  const red = g.op('Slice', [pix, g.constI64([0], [1]), g.constI64([1], [1]), axes([1])]);
  const redMean = g.op('Sigmoid', [g.op('ReduceMean', [red], { axes: [1, 2, 3], keepdims: 0 })]);
  let second: string;
  if (hf && !keep('pixel_mask')) {
    second = g.constF32([-1], [1]);
  } else if (hf) {
    const pm = g.op('Cast', ['pixel_mask'], { to: DT.FLOAT });
    second = g.op('ReduceMean', [pm], { axes: [1, 2], keepdims: 0 });
  } else {
    const pos = g.op('Cast', ['position_ids'], { to: DT.FLOAT });
    const posSum = g.op('Div', [g.op('ReduceSum', [pos, axes([1])], { keepdims: 0 }), g.constF32([1000], [1])]);
    const tm = g.op('Cast', ['text_token_mask'], { to: DT.FLOAT });
    const tmSum = g.op('Div', [g.op('ReduceSum', [tm, axes([1, 2])], { keepdims: 0 }), g.constF32([1e6], [1])]);
    second = g.op('Add', [posSum, tmSum]);
  }
  const shape = g.op('Shape', [pix]);
  const hw = g.op('Div', [
    g.op('Cast', [g.op('Slice', [shape, g.constI64([2], [1]), g.constI64([4], [1])])], { to: DT.FLOAT }),
    g.constF32([2000], [1]),
  ]);
  const probe = g.op('Reshape', [g.op('Concat', [redMean, second, hw], { axis: 0 }), g.constI64([1, 1, 4], [3])]);
  const boxes = new Float32Array((Q - 1) * 4);
  for (let q = 0; q < Q - 1; q++) boxes.set(spec.queries[q]?.box ?? [0.5, 0.5, 0.1, 0.1], q * 4);
  g.op('Concat', [g.constF32(boxes, [1, Q - 1, 4]), probe], { axis: 1 }, hf ? 'pred_boxes' : 'boxes');
  g.output(hf ? 'pred_boxes' : 'boxes', DT.FLOAT, ['batch_size', Q, 4]);

  const modelPath = join(dir, 'onnx', spec.modelFile ?? 'model.onnx');
  await mkdir(dirname(modelPath), { recursive: true });
  await writeFile(modelPath, g.toBytes());
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) await copyFile(join(tokDir, f), join(dir, f));
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ model_type: 'grounding-dino', architectures: ['GroundingDinoForObjectDetection'], max_text_len: maxLen, num_queries: Q }, null, 2),
  );
  await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify(GDINO_PREPROCESSOR_CONFIG, null, 2));
  return { dir, modelPath, probeQuery: Q - 1, numQueries: Q };
}

export interface TinyRamSpec {
  /** Probability per tag index (0-based line of ram_tag_list.txt). */
  tags: Record<number, number>;
  numClasses?: number;
  baseLogit?: number;
  /** Adds probeScale * mean(normalised image) to this tag's logit, so tests can check pre-processing. */
  probeTag?: number;
  probeScale?: number;
  inputName?: string;
  outputName?: string;
}

/** Writes a single .onnx file: input `image` [b,3,384,384] float32 -> output `logits` [b,4585]. */
export async function buildTinyRam(path: string, spec: TinyRamSpec): Promise<string> {
  const C = spec.numClasses ?? 4585;
  const base = spec.baseLogit ?? -10;
  const bias = new Float32Array(C).fill(base);
  for (const [i, p] of Object.entries(spec.tags)) bias[Number(i)] = logit(p);
  const probeW = new Float32Array(C);
  if (spec.probeTag !== undefined) probeW[spec.probeTag] = spec.probeScale ?? 1;

  const g = new GraphBuilder('tiny-ram');
  const img = g.input(spec.inputName ?? 'image', DT.FLOAT, ['batch_size', 3, 384, 384]);
  const mean = g.op('ReduceMean', [img], { axes: [1, 2, 3], keepdims: 0 }); // [b]
  const m2 = g.op('Unsqueeze', [mean, g.constI64([1], [1])]); // [b,1]
  const out = spec.outputName ?? 'logits';
  g.op('Add', [g.op('Mul', [m2, g.constF32(probeW, [1, C])]), g.constF32(bias, [1, C])], {}, out);
  g.output(out, DT.FLOAT, ['batch_size', C]);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, g.toBytes());
  return path;
}
