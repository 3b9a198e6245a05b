/** The models.json entries of a run: every model file with its sha256 and size, so a run says exactly what it ran. */
import { stat } from 'node:fs/promises';
import type { SamModel } from '../models/sam/model.js';
import { sha256File } from '../util/hash.js';
import type { ModelRecord } from './types.js';

export async function fileRecord(path: string): Promise<{ path: string; sha256: string; bytes: number }> {
  return { path, sha256: await sha256File(path), bytes: (await stat(path)).size };
}

export async function samModelRecord(name: string, sam: SamModel): Promise<ModelRecord> {
  const e = sam.entry;
  return {
    name,
    files: [await fileRecord(e.encoderPath), await fileRecord(e.decoderPath)],
    note: e.encoderTakesNormalised ? 'encoder takes normalised input' : 'encoder normalises inside',
  };
}
