/** The IAP-AS size filter (docs/method.md §1 B3): boxes larger than object_size * size_threshold are dropped. */
import { sizeFilter } from '../models/grounding-dino/postprocess.js';
import type { ImageState, Stage } from '../pipeline/types.js';

/** Marks boxes over object_size * sizeThreshold as dropped (they stay in the record). */
export function sizeFilterStage(sizeThreshold: number): Stage<ImageState> {
  return {
    name: 'size-filter',
    reads: ['image', 'boxes', 'objectSize'],
    writes: ['boxes'],
    async run(s) {
      const { width, height } = s.image!;
      const dets = s.boxes!.map((b, query) => ({ box: b.box, score: b.score, phrase: b.phrase, query }));
      const keep = new Set(sizeFilter(dets, s.objectSize!, sizeThreshold, width, height).map((d) => d.query));
      return { boxes: s.boxes!.map((b, i) => (keep.has(i) ? b : { ...b, kept: false, dropped: 'size' })) };
    },
  };
}
