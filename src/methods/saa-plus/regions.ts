/**
 * SAA+'s boxes (docs/method.md §2): Grounding DINO's raw output per caption, filtered by the
 * property prompts. Scores and phrases are the IAP-AS post-processing's (max token probability,
 * tokens over the text threshold); unlike IAP-AS there is no NMS: every prompt's boxes are kept
 * side by side and the confidence prompt (top-k after rescoring) thins them out.
 *
 *   object pass  boxes of the object prompt over the box threshold whose normalised area lies in
 *                (0, 1/N) (N = `saa.object_count` objects per image); the object area is the
 *                largest such box's, or 1 (the whole image) when there is none.
 *   defect pass  per prompt, boxes over the box threshold; a box is dropped when its area is not
 *                in (0, object area x A) (A = `saa.max_area`) or when its phrase contains the
 *                category's filter word (the box found the object, not a defect).
 */
import { boxArea } from '../../image/box.js';
import { thresholdDetections, type Detection, type DetectorRaw, type DetectParams } from '../../models/grounding-dino/postprocess.js';

export interface SaaObjects {
  /** The object boxes that passed, best score first. */
  boxes: Detection[];
  /** Normalised area of the largest one, or 1 without any. */
  area: number;
}

export function saaObjectPass(raw: DetectorRaw, params: Pick<DetectParams, 'boxThreshold' | 'textThreshold'>, objectCount: number): SaaObjects {
  const { imageWidth: W, imageHeight: H } = raw;
  const boxes = thresholdDetections(raw, params)
    .filter((d) => {
      const a = boxArea(d.box, W, H);
      return a > 0 && a < 1 / objectCount;
    })
    .sort((a, b) => b.score - a.score || a.query - b.query);
  const area = boxes.length ? Math.max(...boxes.map((d) => boxArea(d.box, W, H))) : 1;
  return { boxes, area };
}

export interface SaaBox extends Detection {
  /** Index of the prompt that found it. */
  prompt: number;
  area: number;
  kept: boolean;
  dropped?: 'area' | 'phrase';
}

/** Every prompt's boxes over the box threshold, each kept or dropped with its reason, in prompt order. */
export function saaDefectBoxes(
  raws: DetectorRaw[],
  params: Pick<DetectParams, 'boxThreshold' | 'textThreshold'>,
  opts: { objectArea: number; maxArea: number; filter: string },
): SaaBox[] {
  const out: SaaBox[] = [];
  const limit = opts.objectArea * opts.maxArea;
  const filter = opts.filter.toLowerCase();
  raws.forEach((raw, prompt) => {
    for (const d of thresholdDetections(raw, params)) {
      const area = boxArea(d.box, raw.imageWidth, raw.imageHeight);
      const dropped = !(area > 0 && area < limit) ? 'area' : filter && d.phrase.toLowerCase().includes(filter) ? 'phrase' : undefined;
      out.push({ ...d, prompt, area, kept: dropped === undefined, ...(dropped ? { dropped } : {}) });
    }
  });
  return out;
}
