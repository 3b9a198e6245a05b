/**
 * Whether a decoder file is the refining half of an SPT pair (written by `iapas tune` with
 * tune.method=spt), and where its draft is. The refiner says so itself, in its ONNX metadata:
 * `iapas.spt.draft` (the draft's file name, beside it) and `iapas.spt.draft_sha256`; so pointing
 * sam.decoder at it is all a user does, and a draft that is missing or not the one it was trained
 * with stops the load with a message.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../../util/errors.js';
import { stampedSha256 } from '../weights/hash-stamp.js';
import { onnxMetadata as metadataOf } from './decoder-output.js';

export const SPT_ROLE_KEY = 'iapas.spt.role';
export const SPT_DRAFT_FILE_KEY = 'iapas.spt.draft';
export const SPT_DRAFT_SHA_KEY = 'iapas.spt.draft_sha256';

export interface SptDraft {
  path: string;
  sha256: string;
}

/** The draft of an SPT refining decoder, checked; undefined for any other decoder. `metadata`: the decoder's, where the caller has read it. */
export async function sptDraftOf(decoderPath: string, metadata?: Map<string, string>): Promise<SptDraft | undefined> {
  let meta = metadata;
  if (!meta) {
    try {
      meta = metadataOf(new Uint8Array(await readFile(decoderPath)));
    } catch {
      return undefined; // a missing decoder is reported by the session loader
    }
  }
  if (meta.get(SPT_ROLE_KEY) === 'draft') {
    throw new UserError(`SAM decoder ${decoderPath} is the draft half of an SPT pair: point sam.decoder at the refining decoder (sam.onnx beside it)`);
  }
  const file = meta.get(SPT_DRAFT_FILE_KEY);
  if (!file) return undefined;
  const path = join(dirname(decoderPath), file);
  if (!existsSync(path)) throw new UserError(`SAM decoder ${decoderPath} is an SPT refining decoder whose draft ${path} is missing: keep the files iapas tune wrote together`);
  const sha = await stampedSha256(path);
  if (sha !== meta.get(SPT_DRAFT_SHA_KEY)) {
    throw new UserError(`SAM decoder ${decoderPath}: its SPT draft ${path} has sha256 ${sha.slice(0, 12)}…, not the ${meta.get(SPT_DRAFT_SHA_KEY)?.slice(0, 12)}… it was trained with`);
  }
  return { path, sha256: sha };
}
