/**
 * Backbone model entries: what a feature backbone is to this code, so that another ONNX CNN can
 * replace the default by configuration alone.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { MissingModelError } from '../../util/errors.js';
import { resolveModel } from '../weights/resolve.js';

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

export interface OnnxCnnEntry {
  kind: 'onnx-cnn';
  name: string;
  /** The model's name in models/manifest.json (its file is resolved in the models directory). */
  model: string;
  /** The ONNX file among the manifest entry's files, or an absolute path to use instead. */
  file: string;
  inputName: string;
  /** Square input side; the image is resized (aspect not kept) to it. A multiple of 32. */
  inputSize: number;
  /**
   * Intermediate tensors used as features. They are resampled to the grid of the first one
   * (bilinear), L2-normalised each, and concatenated.
   */
  layers: string[];
  /** Input scaling: x/255, then (x - mean) / std per channel. */
  mean: [number, number, number];
  std: [number, number, number];
  /** k x k local averaging of each layer before concatenation (PatchCore's aggregation); 1 = off. */
  localAverage: number;
  /** Whether the ONNX file fixes its spatial input size, which the loader then frees. */
  freeSpatialInput: boolean;
}

export interface SamEncoderEntry {
  kind: 'sam-encoder';
  name: string;
  /**
   * Average-pool the 64x64 embedding grid by this factor before matching. The exact
   * nearest-neighbour search is quadratic in patches: at 64x64 with k=4 references it is ~17 G
   * multiply-adds per image (~8 s in JS on 2 cores); pooling 2 cuts that 16-fold.
   */
  pool: number;
}

export type BackboneEntry = OnnxCnnEntry | SamEncoderEntry;

/**
 * MobileNetV2 (ONNX model zoo, int8, opset 12). Tensor names are those of that export:
 * `365_quantized` is the output of the third 32-channel inverted-residual block (stride 8),
 * `426_quantized` of the third 96-channel block (stride 16).
 * Measured on the shared samples (eval/bench-fewshot.ts, feature map alone, mean over 5 datasets):
 * pixel AP 56.6 / 57.9 / 59.0 and F1-max 56.4 / 56.6 / 58.8 at input 224 / 256 / 320; the
 * expanded (pre-projection) tensors 528/564 were worse (AP 49.7 at 256).
 */
export const MOBILENETV2: OnnxCnnEntry = {
  kind: 'onnx-cnn',
  name: 'mobilenetv2',
  model: 'mobilenetv2-12-int8',
  file: 'mobilenetv2-12-int8.onnx',
  inputName: 'input',
  inputSize: 320,
  layers: ['365_quantized', '426_quantized'],
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
  localAverage: 3,
  freeSpatialInput: true,
};

export const SAM_ENCODER: SamEncoderEntry = { kind: 'sam-encoder', name: 'sam', pool: 2 };

export const BACKBONES: Record<string, BackboneEntry> = { mobilenetv2: MOBILENETV2, sam: SAM_ENCODER };

export function backboneEntry(name: string): BackboneEntry {
  const e = BACKBONES[name];
  if (!e) throw new Error(`unknown backbone '${name}' (known: ${Object.keys(BACKBONES).join(', ')})`);
  return e;
}

/**
 * The absolute path of a backbone's ONNX file: the manifest model in the models directory
 * (MissingModelError with its `iapas models pull` command when absent), or the entry's absolute path.
 */
export async function resolveBackboneFile(entry: OnnxCnnEntry, modelsDir?: string): Promise<string> {
  if (isAbsolute(entry.file)) {
    if (existsSync(entry.file)) return entry.file;
    throw new MissingModelError(entry.name, entry.file);
  }
  const r = await resolveModel(entry.model, modelsDir);
  const path = r.files[entry.file];
  if (!path) throw new MissingModelError(entry.model, entry.file, `is not a file of manifest model '${entry.model}'`);
  return path;
}
