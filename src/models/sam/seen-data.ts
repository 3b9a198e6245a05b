/**
 * Whether an evaluation would score a tuned decoder on images it was trained on. `iapas tune`
 * records, in the provenance beside the decoder (`<decoder>.provenance.json`), the sha256 of every
 * training image file; an evaluation hashes the files of its anomalous images (the only ones
 * tuning reads) and compares. Content, not names: a renamed or copied dataset is still caught,
 * and a subset of a dataset (--max-images, some categories) overlaps where it really does.
 * Refused unless `sam.allow_seen_data` is set, then only flagged.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { SeenDataFlag } from '../../evaluation/metrics-files.js';
import { UserError } from '../../util/errors.js';
import { sha256 } from '../../util/hash.js';

export const PROVENANCE_SUFFIX = '.provenance.json';

export interface TunedDataRecord {
  data: Array<{ name: string; root?: string }>;
  /** sha256 of each training image file. */
  images_sha256?: string[];
}

/** The provenance of a tuned decoder, or undefined for a decoder without one (not made by `iapas tune`). */
export async function readTunedRecord(decoderPath: string): Promise<TunedDataRecord | undefined> {
  const path = `${decoderPath}${PROVENANCE_SUFFIX}`;
  if (!existsSync(path)) return undefined;
  return JSON.parse(await readFile(path, 'utf8')) as TunedDataRecord;
}

export async function imageFileHash(path: string): Promise<string> {
  return sha256(new Uint8Array(await readFile(path)));
}

export interface SeenCheck {
  /** Evaluated images that were training images. */
  seen: string[];
  /** The datasets the decoder was trained on, for the message. */
  trainedOn: string[];
}

/** Which of `imagePaths` the tuned decoder at `decoderPath` was trained on (none for an untuned decoder). */
export async function seenImages(decoderPath: string, imagePaths: string[]): Promise<SeenCheck> {
  const record = await readTunedRecord(decoderPath);
  if (!record?.images_sha256?.length) return { seen: [], trainedOn: [] };
  const trained = new Set(record.images_sha256);
  const seen: string[] = [];
  for (const p of imagePaths) if (trained.has(await imageFileHash(p))) seen.push(p);
  return { seen, trainedOn: record.data.map((d) => d.name) };
}

export interface SeenDataWarning {
  /** The line to print on stderr. */
  warning: string;
  flag: SeenDataFlag;
}

/**
 * Throws a UserError when the evaluation would score the tuned decoder on its training images,
 * unless `allow`; then returns the warning to print and the flag to record. Undefined when nothing was seen.
 */
export async function checkUnseen(decoderPath: string | undefined, imagePaths: string[], opts: { allow: boolean; what: string }): Promise<SeenDataWarning | undefined> {
  if (!decoderPath) return undefined;
  const { seen, trainedOn } = await seenImages(decoderPath, imagePaths);
  if (seen.length === 0) return undefined;
  const msg = `${opts.what}: ${seen.length} of its ${imagePaths.length} anomalous images were training images of the tuned decoder ${decoderPath} (trained on ${trainedOn.join(', ')}; e.g. ${seen[0]})`;
  if (!opts.allow) throw new UserError(`${msg}. Evaluate on data the tuning held out (iapas tune --holdout), or set sam.allow_seen_data=true to run anyway and flag it`);
  return {
    warning: `${msg}; sam.allow_seen_data is set, so the results are on seen data`,
    flag: { decoder: decoderPath, decoder_sha256: await imageFileHash(decoderPath), trained_on: trainedOn, seen_images: seen.length, evaluated_images: imagePaths.length },
  };
}

/** One line naming the flag, for tables and report notes. */
export function seenDataNote(label: string, flag: SeenDataFlag): string {
  return `${label}: scored on seen data: ${flag.seen_images} of its ${flag.evaluated_images} anomalous images were training images of the tuned decoder ${flag.decoder} (trained on ${flag.trained_on.join(', ')}; sam.allow_seen_data=true)`;
}
