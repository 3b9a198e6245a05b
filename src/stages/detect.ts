/**
 * A text-grounded detector as stages see it: one raw output per (image, caption), cached on disk
 * by the adapter, so that everything after it is post-processing and a sweep over thresholds
 * never re-runs the model. The prompt-ensemble stage runs a method's prompts through it.
 */
import type { DetectorRaw, DetectParams } from '../models/grounding-dino/postprocess.js';
import type { BaseConfig } from '../config/schema.js';
import { roundBox } from '../image/box.js';
import type { DetectionPrompt, ImageState, Stage } from '../pipeline/types.js';
import type { DetectorFields } from './detector-fields.js';
import type { RgbImage } from '../image/types.js';
import type { TextPrompts } from './detector-text-prompts.js';

/** What the pipeline needs from a text-grounded detector. */
export interface RawDetector {
  raw(image: RgbImage, caption: string): Promise<DetectorRaw>;
}

export function detectParams(config: BaseConfig): DetectParams {
  return { boxThreshold: config.detector.box_threshold, textThreshold: config.detector.text_threshold, nmsIou: config.detector.nms_iou };
}

/** What a prompt-ensemble method does with the raw outputs of its object prompt and defect prompts. */
export interface EnsembleProposer {
  propose(
    raws: { object: DetectorRaw; prompts: DetectorRaw[] },
    prompts: TextPrompts,
  ): { objectBox: DetectorFields['image']['objectBox']; objectSize: number; boxes: DetectionPrompt[]; notes?: Record<string, unknown> };
}

/**
 * SAA+'s detection: the object prompt and every text prompt of the category (stage A's
 * TextPrompts in its memory) through the detector, one raw output each (cached per caption by
 * the adapter), then the method's filters.
 */
export function promptEnsembleStage(det: RawDetector, proposer: EnsembleProposer): Stage<ImageState<TextPrompts, DetectorFields>> {
  return {
    name: 'detect',
    reads: ['image', 'category'],
    writes: ['objectBox', 'objectSize', 'samPrompts', 'notes'],
    async run(s) {
      const prompts = s.category.memory;
      if (!prompts?.prompts) throw new Error(`category '${s.category.category}' has no text prompts (stage A's text-prompts stage)`);
      const object = await det.raw(s.image!, prompts.object);
      const raws: DetectorRaw[] = [];
      for (const p of prompts.prompts) raws.push(await det.raw(s.image!, p));
      const r = proposer.propose({ object, prompts: raws }, prompts);
      return {
        objectBox: r.objectBox ? { ...r.objectBox, box: roundBox(r.objectBox.box) } : null,
        objectSize: r.objectSize,
        samPrompts: r.boxes,
        notes: { ...s.notes, ...r.notes },
      };
    },
  };
}
