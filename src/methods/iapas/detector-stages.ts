/**
 * IAP-AS's detector stages (docs/method.md §1 B1-B3): the object pass, the anomaly pass and the
 * size filter, each on the raw output the detector adapter caches per (image, caption), so a
 * sweep over thresholds never re-runs the model.
 */
import { boxArea, roundBox } from '../../image/box.js';
import type { DetectParams } from '../../models/grounding-dino/postprocess.js';
import type { DetectionPrompt, ImageState, Stage } from '../../pipeline/types.js';
import type { RawDetector } from '../../stages/detect.js';
import { detectorScore, type DetectorFields } from '../../stages/detector-fields.js';

type DetectorImage = ImageState<never, DetectorFields>;
import { anomalyPass, objectPass, sizeFilter } from './detector-passes.js';

export function objectPassStage(det: RawDetector, params: DetectParams): Stage<DetectorImage> {
  return {
    name: 'object-pass',
    reads: ['image', 'category'],
    writes: ['objectBox', 'objectSize'],
    async run(s) {
      const tag = s.category.objectTag;
      if (!tag) throw new Error(`category '${s.category.category}' has no object tag for the object pass`);
      const raw = await det.raw(s.image!, tag);
      const best = objectPass(raw, params);
      // No object found: the whole image stands in for it (docs/method.md §1 B3, as the reference).
      if (!best) return { objectBox: null, objectSize: 1 };
      return { objectBox: { box: roundBox(best.box), score: best.score, phrase: best.phrase }, objectSize: best.objectSize };
    },
  };
}

export function anomalyPassStage(det: RawDetector, params: DetectParams): Stage<DetectorImage> {
  return {
    name: 'anomaly-pass',
    reads: ['image', 'category'],
    writes: ['samPrompts'],
    async run(s) {
      const caption = s.category.caption?.caption;
      if (!caption) throw new Error(`category '${s.category.category}' has no anomaly caption`);
      const raw = await det.raw(s.image!, caption);
      const { width, height } = s.image!;
      const boxes: DetectionPrompt[] = anomalyPass(raw, params).map((d) => ({
        from: 'detector',
        box: d.box,
        score: d.score,
        phrase: d.phrase,
        kept: true,
        area: boxArea(d.box, width, height),
      }));
      return { samPrompts: boxes };
    },
  };
}

/** Marks boxes over object_size * sizeThreshold as dropped (they stay in the record). */
export function sizeFilterStage(sizeThreshold: number): Stage<DetectorImage> {
  // sizeFilter reads only the boxes' areas.
  return {
    name: 'size-filter',
    reads: ['image', 'samPrompts', 'objectSize'],
    writes: ['samPrompts'],
    async run(s) {
      const { width, height } = s.image!;
      const prompts = s.samPrompts!;
      const dets = prompts.map((b, query) => ({ box: b.box, score: detectorScore(b, 'size-filter'), phrase: '', query }));
      const keep = new Set(sizeFilter(dets, s.objectSize!, sizeThreshold, width, height).map((d) => d.query));
      return { samPrompts: prompts.map((b, i) => (keep.has(i) ? b : { ...b, kept: false, dropped: 'size' })) };
    },
  };
}
