/**
 * The records of a run directory's JSON files (the tree is in run-dir.ts), defined once: the
 * runner writes them and every reader (report, api, resume, sweep) reads them with these types.
 */
import type { Box } from '../image/types.js';
import type { Rle } from './rle.js';

/**
 * A box SAM was given (or, with `kept: false`, was not: the reason is in `dropped`), with what it
 * came from: a text-grounded detector's box with its phrase and score, or a region of the
 * method's own anomaly map with the map's peak in it as its score.
 */
export type SamPromptRecord = DetectionPrompt | RegionPrompt;

interface PromptBase {
  box: Box;
  kept: boolean;
  /** Why a box was dropped (e.g. 'size' = over object_size * size_threshold). */
  dropped?: string;
  /** Normalised area w*h/(W*H). */
  area: number;
}

export interface DetectionPrompt extends PromptBase {
  from: 'detector';
  /** Max token probability of the box. */
  score: number;
  phrase: string;
}

export interface RegionPrompt extends PromptBase {
  from: 'map';
  /** Highest raw-map value in the region; null when the method gives none. */
  peak: number | null;
}

export interface ModelRecord {
  name: string;
  /** sha256 is the file's actual hash; expected_sha256 the manifest's pin, present only when the file did not match it (a run with allow_model_mismatch). */
  files: Array<{ path: string; sha256: string; bytes?: number; expected_sha256?: string }>;
  note?: string;
}

/** sha256 of what an image's results were computed from; a resumed run recomputes when one differs. */
export interface ImageInputs {
  /** The image file. */
  image: string;
  /** The ground-truth mask (read by the evaluation only), null when the image has none. */
  mask: string | null;
  /** The category's reference files: hashJson of their paths and sha256, in order. */
  references: string;
  /** The model files: hashJson of models.json's content. */
  models: string;
}

/** A category's record; the method's own fields (`F`, e.g. IAP-AS's object tag and caption) sit beside the framework's. */
export type StageARecord<F extends object = {}> = StageABase & Partial<F>;

interface StageABase {
  category: string;
  references: string[];
  /** sha256 of each reference file, same order: a resumed run recomputes the category when they differ. */
  referenceHashes?: string[];
  notes?: Record<string, unknown>;
}

/** An image's record; the method's own fields (`F`, e.g. IAP-AS's object box) sit beside the framework's. */
export type ImageRecord<F extends object = {}> = ImageBase & Partial<F>;

interface ImageBase {
  category: string;
  relId: string;
  imagePath: string;
  /** Ground-truth mask of the image, when the dataset has one (figures and comparisons read it). */
  maskPath?: string | null;
  label: string;
  defectType: string;
  width: number;
  height: number;
  samPrompts?: SamPromptRecord[];
  /** Masks of the kept prompts, same order as the kept entries of `samPrompts`. */
  masks?: Rle[];
  /** Path of the map relative to the run directory. */
  map: string;
  /** Content hashes of the inputs (absent in runs made before they were recorded). */
  inputs?: ImageInputs;
  notes?: Record<string, unknown>;
}

/**
 * An image record as read from disk: records written before `samPrompts` hold the same boxes as
 * `boxes`, a map region there being a box with the phrase 'region' and the map's peak as score.
 */
export function imageRecordFromJson(raw: unknown, path: string): ImageRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${path}: not an image record (not a JSON object)`);
  const { boxes, ...rest } = raw as Record<string, unknown> & { boxes?: unknown };
  if (boxes === undefined || 'samPrompts' in rest) return rest as unknown as ImageRecord;
  if (!Array.isArray(boxes)) throw new Error(`${path}: 'boxes' is not a list`);
  const samPrompts = (boxes as Array<Omit<DetectionPrompt, 'from'>>).map((b): SamPromptRecord => {
    const { phrase, score, ...box } = b;
    return phrase === 'region' ? { from: 'map', ...box, peak: score } : { from: 'detector', ...box, score, phrase };
  });
  return { ...(rest as unknown as ImageRecord), samPrompts };
}
