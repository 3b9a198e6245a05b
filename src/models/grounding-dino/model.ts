/**
 * Grounding DINO stage: adapter for the ONNX exports + the IAP-AS passes (object, anomaly, size).
 *
 * Export A, Hugging Face / onnx-community layout (`onnx-community/grounding-dino-tiny-ONNX`), a folder:
 *   onnx/model.onnx (fp32) or onnx/model_int8.onnx, tokenizer.json, tokenizer_config.json,
 *   config.json (max_text_len 256), preprocessor_config.json.
 *   inputs   pixel_values   float32 [b, 3, H, W]   resized, rescaled 1/255, ImageNet mean/std
 *            input_ids      int64   [b, L]         BERT uncased ids, [CLS] ... [SEP]
 *            attention_mask int64   [b, L]         ones (batch of one: no padding)
 *            token_type_ids int64   [b, L]         zeros
 *            pixel_mask     int64   [b, H, W]      ones (no padding)
 *   outputs  logits         float32 [b, 900, 256]  text columns >= L are -inf
 *            pred_boxes     float32 [b, 900, 4]    normalised (cx, cy, w, h)
 *   The graph builds the sub-sentence text mask and position ids itself.
 * Export B, IDEA-Research original export (torch.onnx.export of groundingdino, e.g. `groundingdino_swint_ogc.onnx`):
 *   inputs   img float32 [b,3,H,W], input_ids int64, attention_mask bool, position_ids int64,
 *            token_type_ids int64, text_token_mask bool [b, L, L] (sub-sentence self-attention mask;
 *            some exports name it text_self_attention_masks, or give text_token_mask as the [b, L] mask)
 *   outputs  logits [b, 900, 256], boxes [b, 900, 4]
 *   position_ids / text_token_mask are built here from '.'-separated sub-sentences (text.ts).
 * Input dtypes are taken from the session metadata, so int32/bool variants of either export also load.
 *
 * Pre-processing (HF GroundingDinoImageProcessor with preprocessor_config.json; same as IDEA's
 * RandomResize([800], max_size=1333)): shorter side to size.shortest_edge (800) unless the longer
 * side would exceed size.longest_edge (1333); resample 2 = bilinear; x * rescale_factor (1/255);
 * (x - image_mean) / image_std, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225].
 * transformers.js 4.3's GroundingDinoImageProcessor computes a different size (it scales the longer
 * side up to 1333 even when the shorter side reaches 800 first), so resizing is done here on sharp.
 * Post-processing (per-token phrases, box threshold, cache encoding) is postprocess.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { DiskCache } from '../../util/disk-cache.js';
import { UserError } from '../../util/errors.js';
import { sha256 } from '../../util/hash.js';
import { stampedSha256 } from '../weights/hash-stamp.js';
import { CaptionTokenizer, subSentenceMasks, type TokenizedCaption } from './text.js';
import { sigmoid } from '../../util/numeric.js';
import { decodeRaw, encodeRaw, prepareCaption, type DetectorRaw } from './postprocess.js';
import type { RgbImage } from '../../image/types.js';
import { sessionOptions } from '../onnx/session-options.js';

export * from './postprocess.js';
export { CaptionTokenizer, subSentenceMasks } from './text.js';


export type GdinoLayout = 'hf' | 'idea';

interface Preprocessor {
  shortestEdge: number;
  longestEdge: number;
  mean: [number, number, number];
  std: [number, number, number];
  rescale: number;
  kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
}

const HF_INPUTS = ['pixel_values', 'input_ids', 'attention_mask', 'token_type_ids', 'pixel_mask'];
const IDEA_INPUTS = ['img', 'input_ids', 'attention_mask', 'position_ids', 'token_type_ids', 'text_token_mask', 'text_self_attention_masks'];
/** Inputs without which a layout is not recognised; the others are fed when the graph declares them. */
const HF_REQUIRED = ['pixel_values', 'input_ids'];
const IDEA_REQUIRED = ['img', 'input_ids'];

/** HF get_size_with_aspect_ratio: [height, width] after resizing. */
export function resizedSize(height: number, width: number, shortest: number, longest: number): [number, number] {
  let size = shortest;
  const minOrig = Math.min(height, width);
  const maxOrig = Math.max(height, width);
  if ((maxOrig / minOrig) * size > longest) size = Math.round((longest * minOrig) / maxOrig);
  if ((height <= width && height === size) || (width <= height && width === size)) return [height, width];
  if (width < height) return [Math.trunc((size * height) / width), size];
  return [size, Math.trunc((size * width) / height)];
}

/** Files of a Grounding DINO folder (or a single .onnx file with a tokenizer next to it). */
export function gdinoModelFile(dir: string, preferred?: string): string {
  if (dir.endsWith('.onnx')) return dir;
  const names = preferred ? [preferred] : ['model.onnx', 'model_fp16.onnx', 'model_int8.onnx', 'model_quantized.onnx'];
  for (const n of names) {
    for (const p of [join(dir, 'onnx', n), join(dir, n)]) if (existsSync(p)) return p;
  }
  throw new UserError(`grounding dino: no ${names.join(' / ')} under ${join(dir, 'onnx')} or ${dir}`);
}

export interface GroundingDinoOptions {
  /** File name under onnx/ (model.onnx, model_int8.onnx); default: the first present. */
  modelFile?: string;
  /** Folder with tokenizer.json; default: the model folder. */
  tokenizerDir?: string;
  cache?: DiskCache;
  threads?: number;
}

export class GroundingDino {
  /** Model executions so far (cache hits not counted). */
  runs = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly layout: GdinoLayout,
    readonly modelPath: string,
    readonly modelHash: string,
    readonly tokenizer: CaptionTokenizer,
    private readonly pre: Preprocessor,
    readonly maxTextLen: number,
    private readonly inputTypes: Map<string, string>,
    private readonly inputRanks: Map<string, number>,
    private readonly outputs: { logits: string; boxes: string },
    private readonly cache?: DiskCache,
  ) {}

  static async load(dir: string, opts: GroundingDinoOptions = {}): Promise<GroundingDino> {
    const modelPath = gdinoModelFile(dir, opts.modelFile);
    // A bare .onnx path: its hub folder is the parent of onnx/, else the file's own folder.
    const folder = dir.endsWith('.onnx') ? (basename(dirname(dir)) === 'onnx' ? dirname(dirname(dir)) : dirname(dir)) : dir;
    const readJson = async (name: string): Promise<Record<string, any> | undefined> => {
      const p = join(folder, name);
      return existsSync(p) ? JSON.parse(await readFile(p, 'utf8')) : undefined;
    };
    const pc = (await readJson('preprocessor_config.json')) ?? {};
    const cfg = (await readJson('config.json')) ?? {};
    const kernels = { 0: 'nearest', 1: 'lanczos3', 2: 'linear', 3: 'cubic' } as const;
    const pre: Preprocessor = {
      shortestEdge: pc.size?.shortest_edge ?? 800,
      longestEdge: pc.size?.longest_edge ?? 1333,
      mean: pc.image_mean ?? [0.485, 0.456, 0.406],
      std: pc.image_std ?? [0.229, 0.224, 0.225],
      rescale: pc.rescale_factor ?? 1 / 255,
      kernel: kernels[(pc.resample ?? 2) as 0 | 1 | 2 | 3] ?? 'linear',
    };
    const threads = opts.threads ?? Number(process.env.IAPAS_THREADS ?? 0);
    const session = await ort.InferenceSession.create(modelPath, sessionOptions(threads));
    try {
      return await GroundingDino.check(session, modelPath, folder, pre, cfg.max_text_len ?? 256, opts);
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  private static async check(
    session: ort.InferenceSession,
    modelPath: string,
    folder: string,
    pre: Preprocessor,
    maxTextLen: number,
    opts: GroundingDinoOptions,
  ): Promise<GroundingDino> {
    const names = session.inputNames;
    const layout: GdinoLayout | undefined = HF_REQUIRED.every((n) => names.includes(n))
      ? 'hf'
      : IDEA_REQUIRED.every((n) => names.includes(n))
        ? 'idea'
        : undefined;
    const known = layout === 'hf' ? HF_INPUTS : IDEA_INPUTS;
    if (!layout || names.some((n) => !known.includes(n))) {
      throw new UserError(
        `grounding dino: ${modelPath} has inputs [${names.join(', ')}]; supported exports take ` +
          `[${HF_INPUTS.join(', ')}] (Hugging Face / onnx-community) or [${IDEA_INPUTS.join(', ')}] (IDEA-Research)`,
      );
    }
    const outputs = { logits: 'logits', boxes: layout === 'hf' ? 'pred_boxes' : 'boxes' };
    for (const o of [outputs.logits, outputs.boxes]) {
      if (!session.outputNames.includes(o)) {
        throw new UserError(`grounding dino: ${modelPath} has outputs [${session.outputNames.join(', ')}], expected '${o}'`);
      }
    }
    const inputTypes = new Map<string, string>();
    const inputRanks = new Map<string, number>();
    const expectRank: Record<string, number> = { pixel_values: 4, img: 4, input_ids: 2, pixel_mask: 3, text_self_attention_masks: 3 };
    for (const m of session.inputMetadata) {
      if (!m.isTensor) continue;
      inputTypes.set(m.name, m.type);
      inputRanks.set(m.name, m.shape.length);
      const r = expectRank[m.name];
      if (r !== undefined && m.shape.length > 0 && m.shape.length !== r) {
        throw new UserError(`grounding dino: input '${m.name}' of ${modelPath} has rank ${m.shape.length}, expected ${r}`);
      }
    }
    const tokDir = opts.tokenizerDir ?? folder;
    const [tokenizer, modelHash] = await Promise.all([CaptionTokenizer.load(tokDir), stampedSha256(modelPath)]);
    return new GroundingDino(session, layout, modelPath, modelHash, tokenizer, pre, maxTextLen, inputTypes, inputRanks, outputs, opts.cache);
  }

  tokenize(caption: string): TokenizedCaption {
    return this.tokenizer.encode(prepareCaption(caption), this.maxTextLen);
  }

  /** Resized, normalised CHW float32 and its size. */
  async preprocess(image: RgbImage): Promise<{ data: Float32Array; width: number; height: number }> {
    const [h, w] = resizedSize(image.height, image.width, this.pre.shortestEdge, this.pre.longestEdge);
    const buf =
      h === image.height && w === image.width
        ? image.data
        : await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
            .resize(w, h, { kernel: this.pre.kernel, fit: 'fill' })
            .raw()
            .toBuffer();
    const plane = w * h;
    const out = new Float32Array(3 * plane);
    const { mean, std, rescale } = this.pre;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) out[c * plane + i] = (buf[i * 3 + c] * rescale - mean[c]) / std[c];
    }
    return { data: out, width: w, height: h };
  }

  private tensor(name: string, values: ArrayLike<number>, dims: number[]): ort.Tensor {
    const type = this.inputTypes.get(name) ?? 'int64';
    switch (type) {
      case 'int64':
        return new ort.Tensor('int64', BigInt64Array.from(Array.from(values), (v) => BigInt(v)), dims);
      case 'int32':
        return new ort.Tensor('int32', Int32Array.from(values), dims);
      case 'bool':
        return new ort.Tensor('bool', Uint8Array.from(values, (v) => (v ? 1 : 0)), dims);
      case 'float32':
        return new ort.Tensor('float32', Float32Array.from(values), dims);
      default:
        throw new UserError(`grounding dino: input '${name}' has dtype ${type}, which this adapter does not feed`);
    }
  }

  /** Runs the model (or reads the cache) for one image and caption. */
  async infer(image: RgbImage, caption: string, imageHash?: string): Promise<DetectorRaw> {
    const text = this.tokenize(caption);
    const key = this.cache?.key({
      model: this.modelHash,
      image: imageHash ?? sha256(image.data) + `:${image.width}x${image.height}`,
      ids: text.ids,
      pre: this.pre,
    });
    if (this.cache && key) {
      const hit = await this.cache.read('gdino', key, decodeRaw);
      if (hit) return hit;
    }
    const raw = await this.run(image, text);
    if (this.cache && key) await this.cache.setBytes('gdino', key, encodeRaw(raw));
    return raw;
  }

  private async run(image: RgbImage, text: TokenizedCaption): Promise<DetectorRaw> {
    this.runs++;
    const px = await this.preprocess(image);
    const L = text.ids.length;
    const ones = new Array<number>(L).fill(1);
    const zeros = new Array<number>(L).fill(0);
    const has = (n: string) => this.inputTypes.has(n);
    const feeds: Record<string, ort.Tensor> = { input_ids: this.tensor('input_ids', text.ids, [1, L]) };
    if (has('attention_mask')) feeds.attention_mask = this.tensor('attention_mask', ones, [1, L]);
    if (has('token_type_ids')) feeds.token_type_ids = this.tensor('token_type_ids', zeros, [1, L]);
    const pixName = this.layout === 'hf' ? 'pixel_values' : 'img';
    feeds[pixName] = new ort.Tensor('float32', px.data, [1, 3, px.height, px.width]);
    if (has('pixel_mask')) {
      feeds.pixel_mask = this.tensor('pixel_mask', new Uint8Array(px.width * px.height).fill(1), [1, px.height, px.width]);
    }
    if (this.layout === 'idea') {
      const { mask, positionIds } = subSentenceMasks(text.ids, this.tokenizer.specialIds);
      if (has('position_ids')) feeds.position_ids = this.tensor('position_ids', positionIds, [1, L]);
      if (has('text_self_attention_masks')) feeds.text_self_attention_masks = this.tensor('text_self_attention_masks', mask, [1, L, L]);
      // Exports differ: text_token_mask is either the [b, L, L] sub-sentence mask or the [b, L] token mask.
      if (has('text_token_mask')) {
        feeds.text_token_mask =
          this.inputRanks.get('text_token_mask') === 2
            ? this.tensor('text_token_mask', ones, [1, L])
            : this.tensor('text_token_mask', mask, [1, L, L]);
      }
    }
    const res = await this.session.run(feeds);
    const logits = res[this.outputs.logits];
    const boxes = res[this.outputs.boxes];
    if (logits.dims.length !== 3 || boxes.dims.length !== 3 || boxes.dims[2] !== 4) {
      throw new UserError(`grounding dino: outputs have shapes [${logits.dims}] and [${boxes.dims}], expected [1,Q,T] and [1,Q,4]`);
    }
    const [, Q, T] = logits.dims;
    if (T < L) throw new UserError(`grounding dino: logits have ${T} text columns for a caption of ${L} tokens`);
    const ld = logits.data as Float32Array;
    const probs = new Float32Array(Q * L);
    for (let q = 0; q < Q; q++) for (let t = 0; t < L; t++) probs[q * L + t] = sigmoid(ld[q * T + t]);
    return {
      numQueries: Q,
      inputIds: text.ids,
      tokens: text.tokens,
      boxes: Float32Array.from(boxes.data as Float32Array),
      probs,
      imageWidth: image.width,
      imageHeight: image.height,
    };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
