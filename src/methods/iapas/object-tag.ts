/**
 * IAP-AS's object tag (docs/method.md §1 A1-A3): RAM tags of each normal reference become a
 * caption for Grounding DINO, and the phrase of the best box over the references names the object.
 */
import { hashRgb } from '../../image/hash.js';
import type { RgbImage } from '../../image/types.js';
import type { DetectParams } from '../../models/grounding-dino/postprocess.js';
import type { RamTagger } from '../../models/ram/model.js';
import type { CategoryState, Stage } from '../../pipeline/types.js';
import type { RawDetector } from '../../stages/detect.js';
import type { DetectorFields } from '../../stages/detector-fields.js';
import { UserError } from '../../util/errors.js';
import { objectPass } from './detector-passes.js';

export interface ObjectTagImage {
  tagString: string;
  caption: string;
  /** Phrase and score of the best box on this image, or null when no box passed. */
  phrase: string | null;
  score: number;
}

export interface ObjectTagResult {
  /** Top-1 phrase by max score over the k images; null when no image gave any phrase. */
  objectTag: string | null;
  /** Each phrase with its max score over the images, best first. */
  candidates: Array<{ phrase: string; score: number }>;
  perImage: ObjectTagImage[];
}

/**
 * For each reference image: RAM tags -> caption -> Grounding DINO -> NMS -> phrase of the
 * highest-scoring box; then group by phrase, max score, keep the top-1. Ties keep the phrase
 * seen first.
 */
export async function objectTagFromReferences(
  images: RgbImage[],
  tagger: Pick<RamTagger, 'tag'>,
  detector: RawDetector,
  params: DetectParams,
): Promise<ObjectTagResult> {
  const perImage: ObjectTagImage[] = [];
  const best = new Map<string, number>();
  for (const image of images) {
    const ram = await tagger.tag(image, hashRgb(image));
    if (ram.caption === '') {
      perImage.push({ tagString: ram.tagString, caption: '', phrase: null, score: 0 });
      continue;
    }
    const top = objectPass(await detector.raw(image, ram.caption), params);
    const phrase = top && top.phrase !== '' ? top.phrase : null;
    perImage.push({ tagString: ram.tagString, caption: ram.caption, phrase, score: top?.score ?? 0 });
    if (phrase && top && top.score > (best.get(phrase) ?? -1)) best.set(phrase, top.score);
  }
  const candidates = [...best.entries()].map(([phrase, score]) => ({ phrase, score })).sort((a, b) => b.score - a.score);
  return { objectTag: candidates[0]?.phrase ?? null, candidates, perImage };
}

export function ramObjectTagStage(ram: Pick<RamTagger, 'tag'>, detector: RawDetector, params: DetectParams): Stage<CategoryState<never, DetectorFields>> {
  return {
    name: 'object-tag',
    reads: ['refImages'],
    writes: ['tags', 'objectTag', 'objectTagSource', 'notes'],
    async run(s) {
      const r = await objectTagFromReferences(s.refImages!, ram, detector, params);
      if (!r.objectTag) {
        throw new UserError(`category '${s.category}': no object tag: Grounding DINO found no box for the RAM tags of any reference image (try --tagger classname)`);
      }
      return {
        tags: r.perImage.map((p) => p.tagString.split(' | ').filter(Boolean)),
        objectTag: r.objectTag,
        objectTagSource: 'ram+grounding-dino',
        notes: { object_tag_candidates: r.candidates, per_reference: r.perImage },
      };
    },
  };
}
