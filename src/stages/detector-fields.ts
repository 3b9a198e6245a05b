/**
 * The recorded state fields of the methods that prompt a text-grounded detector (IAP-AS, SAA+):
 * per category the object tag, where it came from, RAM's tags and the captioner's answer; per
 * image the object box and its normalised area (the size filter's reference).
 */
import type { Detection } from '../models/grounding-dino/postprocess.js';
import type { SamPromptRecord } from '../pipeline/types.js';

export interface CaptionRecord {
  template?: string;
  model?: string;
  raw?: string;
  words?: string[];
  caption: string;
  fallback?: boolean | string;
}

export interface DetectorFields {
  category: {
    /** RAM's tags of each reference, when the method tags them. */
    tags: string[][];
    objectTag: string;
    objectTagSource: string;
    caption: CaptionRecord;
  };
  image: {
    /** The detector's box for the object prompt, without its query index. */
    objectBox: Omit<Detection, 'query'> | null;
    /** Normalised area of the object box; 1 (the whole image) when there is none. */
    objectSize: number;
  };
}

/** The detector score of a prompt the score maps weight its mask by; a map region has none. */
export function detectorScore(p: SamPromptRecord, stage: string): number {
  if (p.from !== 'detector') throw new Error(`${stage}: a ${p.from} prompt has no detector score (the map weights masks by detector boxes' scores)`);
  return p.score;
}
