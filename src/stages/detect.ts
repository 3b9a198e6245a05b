/**
 * Stage B's Grounding DINO passes (docs/method.md §1 B1-B2): the detector gives a raw output per
 * (image, caption), cached on disk by the adapter, and everything after it is post-processing,
 * so a sweep over thresholds never re-runs the model.
 */
import { anomalyPass, objectPass, type DetectorRaw, type DetectParams } from '../models/grounding-dino/postprocess.js';
import type { BaseConfig } from '../config/schema.js';
import { boxArea } from '../image/box.js';
import type { BoxRecord, Detection, ImageState, Stage } from '../pipeline/types.js';
import type { RgbImage } from '../image/types.js';
import type { TextPrompts } from './text-prompts.js';

/** What the pipeline needs from a text-grounded detector. */
export interface RawDetector {
  raw(image: RgbImage, caption: string): Promise<DetectorRaw>;
}

export function detectParams(config: BaseConfig): DetectParams {
  return { boxThreshold: config.detector.box_threshold, textThreshold: config.detector.text_threshold, nmsIou: config.detector.nms_iou };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;
const roundBox = (b: readonly number[]): [number, number, number, number] => [round(b[0]), round(b[1]), round(b[2]), round(b[3])];

export function objectPassStage(det: RawDetector, params: DetectParams): Stage<ImageState> {
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

export function anomalyPassStage(det: RawDetector, params: DetectParams): Stage<ImageState> {
  return {
    name: 'anomaly-pass',
    reads: ['image', 'category'],
    writes: ['boxes'],
    async run(s) {
      const caption = s.category.caption?.caption;
      if (!caption) throw new Error(`category '${s.category.category}' has no anomaly caption`);
      const raw = await det.raw(s.image!, caption);
      const { width, height } = s.image!;
      const boxes: BoxRecord[] = anomalyPass(raw, params).map((d) => ({
        box: d.box,
        score: d.score,
        phrase: d.phrase,
        kept: true,
        area: boxArea(d.box, width, height),
      }));
      return { boxes };
    },
  };
}

/** What a prompt-ensemble method does with the raw outputs of its object prompt and defect prompts. */
export interface EnsembleProposer {
  propose(
    raws: { object: DetectorRaw; prompts: DetectorRaw[] },
    prompts: TextPrompts,
  ): { objectBox: Detection | null; objectSize: number; boxes: BoxRecord[]; notes?: Record<string, unknown> };
}

/**
 * SAA+'s detection: the object prompt and every text prompt of the category (stage A's
 * TextPrompts in its memory) through the detector, one raw output each (cached per caption by
 * the adapter), then the method's filters.
 */
export function promptEnsembleStage(det: RawDetector, proposer: EnsembleProposer): Stage<ImageState<TextPrompts>> {
  return {
    name: 'detect',
    reads: ['image', 'category'],
    writes: ['objectBox', 'objectSize', 'boxes', 'notes'],
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
        boxes: r.boxes,
        notes: { ...s.notes, ...r.notes },
      };
    },
  };
}
