/**
 * Feature backbone from any ONNX CNN: intermediate tensors exposed as extra outputs (see
 * models/onnx/expose.ts), image resized to a square input, ImageNet-normalised.
 *
 * Input:  `<inputName>` float32 [1,3,S,S]
 * Output: one float32 [1,C_i,S/s_i,S/s_i] per entry layer -> a FeatureGrid on the first layer's grid.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { RgbImage } from '../../image/io.js';
import { UserError } from '../../util/errors.js';
import { hashJson } from '../../util/hash.js';
import { stampedSha256 } from '../weights/hash-stamp.js';
import { resolveBackboneFile, type OnnxCnnEntry } from './entries.js';
import { concatLayersHwc, localAverageChw, resizeChw } from './features.js';
import type { ExposedOutput } from '../onnx/expose.js';
import type { Backbone, FeatureGrid } from './types.js';
import { sessionOptions } from '../onnx/session-options.js';

/** RGB bytes (already at the input size) -> normalised CHW float32. */
export function toNormalisedChw(rgb: Uint8Array, width: number, height: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = (rgb[3 * i + c] / 255 - mean[c]) / std[c];
  }
  return out;
}

export class OnnxCnnBackbone implements Backbone {
  private constructor(
    readonly entry: OnnxCnnEntry,
    readonly path: string,
    private readonly session: ort.InferenceSession,
    private readonly outputs: ExposedOutput[],
  ) {}

  get name(): string {
    return this.entry.name;
  }

  get scaleNames(): readonly string[] {
    return [this.entry.name];
  }

  async extractScales(image: RgbImage): Promise<FeatureGrid[]> {
    return [await this.extract(image)];
  }

  static async load(entry: OnnxCnnEntry, opts: { modelsDir?: string; threads?: number } = {}): Promise<OnnxCnnBackbone> {
    const path = await resolveBackboneFile(entry, opts.modelsDir);
    const bytes = new Uint8Array(await readFile(path));
    let modified: { bytes: Uint8Array; outputs: ExposedOutput[] };
    // Loaded here, not at import: only CNN backbones need the protobuf definitions (onnx-proto).
    const { exposeTensors } = await import('../onnx/expose.js');
    try {
      modified = exposeTensors(bytes, entry.layers, { freeSpatialInput: entry.freeSpatialInput });
    } catch (err) {
      throw new UserError(`backbone '${entry.name}' (${path}): ${(err as Error).message}`, { cause: err });
    }
    const session = await ort.InferenceSession.create(modified.bytes, sessionOptions(opts.threads, { graphOptimizationLevel: 'all' }));
    if (!session.inputNames.includes(entry.inputName)) {
      throw new UserError(`backbone '${entry.name}' (${path}) has inputs [${session.inputNames.join(', ')}], the entry names '${entry.inputName}'`);
    }
    return new OnnxCnnBackbone(entry, path, session, modified.outputs);
  }

  async id(): Promise<string> {
    const e = this.entry;
    return hashJson({ file: await stampedSha256(this.path), size: e.inputSize, layers: e.layers, mean: e.mean, std: e.std, avg: e.localAverage, v: 1 });
  }

  async extract(image: RgbImage): Promise<FeatureGrid> {
    const S = this.entry.inputSize;
    const resized = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(S, S, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
    const input = toNormalisedChw(resized, S, S, this.entry.mean, this.entry.std);
    const out = await this.session.run({ [this.entry.inputName]: new ort.Tensor('float32', input, [1, 3, S, S]) });
    let gh = 0;
    let gw = 0;
    const layers: Array<{ data: Float32Array; channels: number }> = [];
    for (const o of this.outputs) {
      const t = out[o.output];
      const [, c, h, w] = t.dims;
      if (layers.length === 0) {
        gh = h;
        gw = w;
      }
      let data = t.data as Float32Array;
      data = localAverageChw(data, c, h, w, this.entry.localAverage);
      data = resizeChw(data, c, h, w, gh, gw);
      layers.push({ data, channels: c });
    }
    const { data, dim } = concatLayersHwc(layers, gh, gw);
    return { data, gridWidth: gw, gridHeight: gh, dim, coverWidth: image.width, coverHeight: image.height };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
