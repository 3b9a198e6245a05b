/**
 * IAP-AS's rules on Grounding DINO's raw output (docs/method.md §1 B): the anomaly pass keeps
 * every box over box_threshold after NMS, the object pass the best of them, and the size filter
 * drops boxes that are large against the object.
 */
import { boxArea, nms } from '../../image/box.js';
import { DEFAULT_DETECT_PARAMS, thresholdDetections, type Detection, type DetectorRaw, type DetectParams } from '../../models/grounding-dino/postprocess.js';

/** Anomaly pass (docs/method.md §1 B.2): all boxes over box_threshold, NMS. */
export function anomalyPass(raw: DetectorRaw, params: DetectParams = DEFAULT_DETECT_PARAMS): Detection[] {
  return nms(thresholdDetections(raw, params), params.nmsIou);
}

export interface ObjectResult extends Detection {
  /** w*h / (W*H) of the box. */
  objectSize: number;
}

/** Object pass (docs/method.md §1 B.1): the single best box after NMS, or null when none passes. */
export function objectPass(raw: DetectorRaw, params: DetectParams = DEFAULT_DETECT_PARAMS): ObjectResult | null {
  const best = anomalyPass(raw, params)[0];
  if (!best) return null;
  return { ...best, objectSize: boxArea(best.box, raw.imageWidth, raw.imageHeight) };
}

/**
 * Size filter (docs/method.md §1 B.3): keep boxes whose normalised area < objectSize * sizeThreshold.
 * With no object box the caller passes objectSize = 1 (the whole image).
 */
export function sizeFilter(dets: Detection[], objectSize: number, sizeThreshold: number, width: number, height: number): Detection[] {
  return dets.filter((d) => boxArea(d.box, width, height) < objectSize * sizeThreshold);
}

