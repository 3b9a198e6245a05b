/**
 * Re-weighting the kept boxes' masks with the image's raw anomaly map and combining them into the
 * final map (SAA+'s saliency and confidence prompts; the maths is the method's,
 * src/methods/saa-plus/rescore.ts). Boxes the method does not keep are marked dropped
 * (`top-k`) and their masks leave the record.
 */
import type { ImageState, Stage } from '../pipeline/types.js';
import { detectorScore } from './detector-fields.js';

export interface MaskRescorer {
  rescore(
    masks: Uint8Array[],
    scores: number[],
    rawMap: Float32Array,
    width: number,
    height: number,
  ): { saliency: Array<number | null>; rescored: number[]; keep: boolean[]; map: Float32Array };
}

export function rescoreStage(rescorer: MaskRescorer): Stage<ImageState> {
  return {
    name: 'rescore',
    reads: ['image', 'samPrompts', 'masks', 'rawMap'],
    writes: ['samPrompts', 'masks', 'map', 'notes'],
    async run(s) {
      const { width, height } = s.image!;
      const boxes = s.samPrompts!;
      const keptAt = boxes.flatMap((b, i) => (b.kept ? [i] : []));
      const masks = s.masks!;
      if (masks.length !== keptAt.length) throw new Error(`rescore: ${masks.length} masks for ${keptAt.length} kept boxes`);
      const r = rescorer.rescore(masks, keptAt.map((i) => detectorScore(boxes[i], 'rescore')), s.rawMap!, width, height);
      const saliency: Array<number | null> = boxes.map(() => null);
      const rescored: Array<number | null> = boxes.map(() => null);
      const out = boxes.map((b) => ({ ...b }));
      keptAt.forEach((i, k) => {
        saliency[i] = r.saliency[k];
        rescored[i] = r.rescored[k];
        if (!r.keep[k]) Object.assign(out[i], { kept: false, dropped: 'top-k' });
      });
      return {
        samPrompts: out,
        masks: masks.filter((_, k) => r.keep[k]),
        map: r.map,
        notes: { ...s.notes, saliency_in_mask: saliency, rescored },
      };
    },
  };
}
