/**
 * A tuned decoder as a file every reader of sam.onnx takes: the LoRA deltas merged into a copy of
 * the export's own weight initializers (same graph, names, inputs and outputs), and beside it a
 * provenance record of what made it (config, data hashes, losses, seed, code version), so a run
 * can tell whether it evaluates on data the decoder saw.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeLora, replaceInitializers, type DecoderWeights } from '../models/sam/decoder-weights.js';
import { OUTPUT_KEY, withMetadata } from '../models/sam/decoder-output.js';
import { sha256 } from '../util/hash.js';
import { codeVersion, type CodeVersion } from '../util/version.js';
import type { LoraArrays, LoraConfig } from './lora.js';

export const TUNED_DECODER_FILE = 'sam.onnx';
export const PROVENANCE_FILE = 'sam.onnx.provenance.json';

export interface SyntheticProvenance {
  generator: string;
  seed: number;
  count: number;
  images: number;
  normal_images_sha256: string[];
}

export interface TuningProvenance {
  format: 'iapas-tuned-sam-decoder/1';
  /** sha256 of the decoder the LoRA was trained on, and of the written file. */
  base_sha256: string;
  sha256: string;
  method: string;
  lora: LoraConfig;
  seed: number;
  steps: number;
  config: unknown;
  /** The training data: dataset name, root and a hash of its image/mask list. */
  data: Array<{ name: string; root?: string; sha256: string; images: number }>;
  holdout?: string[];
  /** sha256 of every training image file: evaluations on these are refused (models/sam/seen-data.ts). */
  images_sha256?: string[];
  /** With tune.synthetic: the defect generator, its seed and count per image, and the sha256 of each normal image it pasted onto. */
  synthetic?: SyntheticProvenance;
  /** With --max-images: how the images were picked of each dataset (tune.sampling). */
  sampling?: { kind: string; max_images: number; seed: number };
  /** The token trained (tune.output); 'single' is also in the decoder's metadata, so the SAM model returns token 0 for it. */
  output?: 'best' | 'single';
  /** Mean training loss per epoch (or per logging window). */
  losses: number[];
  code: CodeVersion;
  created: string;
}

/** The initializer values that a LoRA state replaces: W_t + (alpha / rank) (down @ up). */
export function mergedInitializers(weights: DecoderWeights, lora: LoraArrays, config: LoraConfig): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const r = config.rank;
  for (const [module, p] of Object.entries(lora)) {
    const w = weights.byModule.get(`${module}.weight_t`);
    if (!w) throw new Error(`tune export: the decoder has no weight for ${module}`);
    // mergeLora takes PyTorch's orientation: A [out, r] = up^T, B [r, in] = down^T.
    const a = new Float32Array(p.out * r);
    const b = new Float32Array(r * p.in);
    for (let k = 0; k < r; k++) {
      for (let o = 0; o < p.out; o++) a[o * r + k] = p.up[k * p.out + o];
      for (let i = 0; i < p.in; i++) b[k * p.in + i] = p.down[i * r + k];
    }
    out.set(w.initializer, mergeLora(w.data, w.dims, a, b, r, config.alpha));
  }
  return out;
}

/** The tuned decoder's bytes: a copy of `base` with the LoRA merged. */
export function tunedDecoderBytes(base: Uint8Array, weights: DecoderWeights, lora: LoraArrays, config: LoraConfig): Uint8Array {
  return replaceInitializers(base, mergedInitializers(weights, lora, config));
}

/** Writes `<dir>/sam.onnx` and its provenance; returns the decoder's path. */
export async function writeTunedDecoder(
  dir: string,
  base: Uint8Array,
  weights: DecoderWeights,
  lora: LoraArrays,
  config: LoraConfig,
  record: Omit<TuningProvenance, 'format' | 'base_sha256' | 'sha256' | 'lora' | 'code' | 'created'>,
  opts: { output?: 'best' | 'single' } = {},
): Promise<string> {
  const merged = tunedDecoderBytes(base, weights, lora, config);
  // A decoder trained on token 0 says so itself: read as exported it would return another token.
  const bytes = opts.output === 'single' ? withMetadata(merged, { [OUTPUT_KEY]: 'single' }) : merged;
  await mkdir(dir, { recursive: true });
  const path = join(dir, TUNED_DECODER_FILE);
  await writeFile(path, bytes);
  const provenance: TuningProvenance = { format: 'iapas-tuned-sam-decoder/1', ...fileStamp(base, bytes), lora: config, ...record };
  await writeProvenance(dir, provenance);
  return path;
}

/** What every tuned decoder's provenance says of the file itself: its base, its own hash, the code, the time. */
export function fileStamp(base: Uint8Array, bytes: Uint8Array): { base_sha256: string; sha256: string; code: CodeVersion; created: string } {
  return { base_sha256: sha256(base), sha256: sha256(bytes), code: codeVersion(), created: new Date().toISOString() };
}

export async function writeProvenance(dir: string, provenance: object): Promise<void> {
  await writeFile(join(dir, PROVENANCE_FILE), `${JSON.stringify(provenance, null, 2)}\n`);
}
