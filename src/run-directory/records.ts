/**
 * The records of a run directory's JSON files (the tree is in run-dir.ts), defined once: the
 * runner writes them and every reader (report, api, resume, sweep) reads them with these types.
 */
import type { Box } from '../image/types.js';
import type { Rle } from './rle.js';

export interface DetectionRecord {
  box: Box;
  /** Max token probability of the box. */
  score: number;
  phrase: string;
}

/** A detection with the decision the pipeline took on it, as recorded in the results. */
export interface BoxRecord extends DetectionRecord {
  kept: boolean;
  /** Why a box was dropped ('size' = over object_size * size_threshold). */
  dropped?: string;
  /** Normalised area w*h/(W*H). */
  area: number;
}

export interface CaptionRecord {
  template?: string;
  model?: string;
  raw?: string;
  words?: string[];
  caption: string;
  fallback?: boolean | string;
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

export interface StageARecord {
  category: string;
  references: string[];
  /** sha256 of each reference file, same order: a resumed run recomputes the category when they differ. */
  referenceHashes?: string[];
  tags?: string[][];
  objectTag?: string;
  objectTagSource?: string;
  caption?: CaptionRecord;
  notes?: Record<string, unknown>;
}

export interface ImageRecord {
  category: string;
  relId: string;
  imagePath: string;
  /** Ground-truth mask of the image, when the dataset has one (figures and comparisons read it). */
  maskPath?: string | null;
  label: string;
  defectType: string;
  width: number;
  height: number;
  objectBox?: DetectionRecord | null;
  objectSize?: number;
  boxes?: BoxRecord[];
  /** Masks of the kept boxes, same order as the kept entries of `boxes`. */
  masks?: Rle[];
  /** Path of the map relative to the run directory. */
  map: string;
  /** Content hashes of the inputs (absent in runs made before they were recorded). */
  inputs?: ImageInputs;
  notes?: Record<string, unknown>;
}
