/**
 * RAM (Recognize Anything, ram_swin_large_14m) stage and the object-tag step of IAP-AS stage A.
 *
 * ONNX export (tools/export-ram-onnx.py; no public ONNX exists):
 *   input   image   float32 [b, 3, 384, 384]  RGB resized to 384x384 (PIL bicubic, as the reference's
 *                                            Image.resize default), /255, ImageNet mean/std
 *   output  logits  float32 [b, 4585]         tagging-head logits (before sigmoid)
 * The names are read from the session (one tensor input of rank 4, one output of rank 2), so an
 * export with other names loads too. Tag i is kept when sigmoid(logit_i) > threshold_i, with the
 * per-tag thresholds of ram_tag_list_threshold.txt (0.68 where a line is missing), names from
 * ram_tag_list.txt; the tag string is the kept names joined by ' | ' in index order, as RAM's
 * inference_ram returns it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { DiskCache } from '../../util/disk-cache.js';
import { MissingModelError, UserError } from '../../util/errors.js';
import { sha256 } from '../../util/hash.js';
import { sigmoid } from '../../util/numeric.js';
import { stampedSha256 } from '../weights/hash-stamp.js';
import type { RgbImage } from '../../image/types.js';
import { sessionOptions } from '../onnx/session-options.js';

export const RAM_INPUT_SIZE = 384;

export const RAM_DEFAULT_THRESHOLD = 0.68;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

export interface RamTagList {
  names: string[];
  thresholds: Float32Array;
}

export async function loadRamTagList(tagListPath: string, thresholdPath?: string): Promise<RamTagList> {
  const lines = (p: string) => readFile(p, 'utf8').then((t) => t.split('\n').map((l) => l.replace(/\r$/, '')));
  const names = (await lines(tagListPath)).filter((l, i, all) => l !== '' || i < all.length - 1);
  const thresholds = new Float32Array(names.length).fill(RAM_DEFAULT_THRESHOLD);
  if (thresholdPath) {
    (await lines(thresholdPath)).forEach((l, i) => {
      const v = Number.parseFloat(l);
      if (i < names.length && Number.isFinite(v)) thresholds[i] = v;
    });
  }
  return { names, thresholds };
}

export interface RamTag {
  index: number;
  name: string;
  prob: number;
}

/** Tags whose sigmoid(logit) exceeds their own threshold, in index order. */
/** Stored logits, refused unless they are one float32 per tag. */
function ramLogits(bytes: Uint8Array, tags: number): Float32Array {
  if (bytes.byteLength !== tags * 4) throw new Error(`${bytes.byteLength} bytes for ${tags} float32 logits`);
  return new Float32Array(bytes.slice().buffer);
}

export function tagsFromLogits(logits: ArrayLike<number>, list: RamTagList): RamTag[] {
  if (logits.length !== list.names.length) {
    throw new UserError(`ram: the model gives ${logits.length} logits but the tag list has ${list.names.length} names`);
  }
  const out: RamTag[] = [];
  for (let i = 0; i < logits.length; i++) {
    const p = sigmoid(logits[i]);
    if (p > list.thresholds[i]) out.push({ index: i, name: list.names[i], prob: p });
  }
  return out;
}

/** RAM's 'a | b | c' tag string to the Grounding DINO caption 'a. b. c' (the tag `close-up` dropped). */
export function tagStringToCaption(tagString: string): string {
  return tagString
    .split(' | ')
    .map((t) => t.trim())
    .filter((t) => t !== '' && t !== 'close-up')
    .join('. ');
}

/** 384x384 bicubic, /255, ImageNet mean/std, CHW float32. */
export async function ramPreprocess(image: RgbImage, size = RAM_INPUT_SIZE): Promise<Float32Array> {
  const buf =
    image.width === size && image.height === size
      ? image.data
      : await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
          .resize(size, size, { kernel: 'cubic', fit: 'fill' })
          .raw()
          .toBuffer();
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = (buf[i * 3 + c] / 255 - MEAN[c]) / STD[c];
  return out;
}

export interface RamResult {
  tags: RamTag[];
  /** 'a | b | c' as RAM prints it. */
  tagString: string;
  /** Grounding DINO caption built from it. */
  caption: string;
}

/** The files of a RAM export: the ONNX graph, the tag list, and the per-tag thresholds when shipped. */
export interface RamFiles {
  model: string;
  tagList: string;
  thresholds?: string;
}

/** RAM's files among a resolved manifest entry's: MissingModelError naming the first one absent. */
export function ramFilesOf(name: string, resolved: { dir: string; files: readonly string[] }): RamFiles {
  const model = resolved.files.find((f) => f.endsWith('.onnx'));
  const tagList = resolved.files.find((f) => f.endsWith('ram_tag_list.txt'));
  if (!model || !tagList) throw new MissingModelError(name, join(resolved.dir, model ? 'ram_tag_list.txt' : '*.onnx'));
  return { model, tagList, thresholds: resolved.files.find((f) => f.endsWith('_threshold.txt')) };
}

export class RamTagger {
  /** Model executions so far (cache hits not counted). */
  runs = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly modelPath: string,
    readonly modelHash: string,
    readonly tagList: RamTagList,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly cache?: DiskCache,
  ) {}

  static async load(files: RamFiles, opts: { cache?: DiskCache; threads?: number } = {}): Promise<RamTagger> {
    const modelPath = files.model;
    const [tagList, modelHash] = await Promise.all([loadRamTagList(files.tagList, files.thresholds), stampedSha256(modelPath)]);
    const threads = opts.threads ?? Number(process.env.IAPAS_THREADS ?? 0);
    const session = await ort.InferenceSession.create(modelPath, sessionOptions(threads));
    const ins = session.inputMetadata.filter((m) => m.isTensor);
    const outs = session.outputMetadata.filter((m) => m.isTensor);
    const input = ins.length === 1 ? ins[0] : ins.find((m) => m.name === 'image');
    const output = outs.length === 1 ? outs[0] : outs.find((m) => m.name === 'logits');
    if (!input || !output || !input.isTensor || !output.isTensor) {
      throw new UserError(
        `ram: ${modelPath} has inputs [${session.inputNames}] and outputs [${session.outputNames}]; expected one image input and a 'logits' output (see tools/export-ram-onnx.py)`,
      );
    }
    if (input.type !== 'float32' || (input.shape.length && input.shape.length !== 4)) {
      throw new UserError(`ram: input '${input.name}' is ${input.type} of rank ${input.shape.length}, expected float32 [b,3,384,384]`);
    }
    if (output.shape.length && output.shape.length !== 2) {
      throw new UserError(`ram: output '${output.name}' has rank ${output.shape.length}, expected [b, ${tagList.names.length}]`);
    }
    return new RamTagger(session, modelPath, modelHash, tagList, input.name, output.name, opts.cache);
  }

  async logits(image: RgbImage, imageHash?: string): Promise<Float32Array> {
    const key = this.cache?.key({ model: this.modelHash, image: imageHash ?? sha256(image.data) + `:${image.width}x${image.height}` });
    if (this.cache && key) {
      const hit = await this.cache.read('ram', key, (b) => ramLogits(b, this.tagList.names.length));
      if (hit) return hit;
    }
    this.runs++;
    const data = await ramPreprocess(image);
    const res = await this.session.run({ [this.inputName]: new ort.Tensor('float32', data, [1, 3, RAM_INPUT_SIZE, RAM_INPUT_SIZE]) });
    const out = Float32Array.from(res[this.outputName].data as Float32Array);
    if (this.cache && key) await this.cache.setBytes('ram', key, new Uint8Array(out.buffer));
    return out;
  }

  async tag(image: RgbImage, imageHash?: string): Promise<RamResult> {
    const tags = tagsFromLogits(await this.logits(image, imageHash), this.tagList);
    const tagString = tags.map((t) => t.name).join(' | ');
    return { tags, tagString, caption: tagStringToCaption(tagString) };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
