/**
 * IoU (Jaccard index) of two binary masks, e.g. a prediction against a ground truth:
 * |pred AND gt| / |pred OR gt|, with non-zero meaning "set". Both empty is a perfect match: 1.
 * Box IoU is image/box.ts boxIou.
 */
import { MetricInputError } from './ranking.js';

export function maskIou(pred: ArrayLike<number>, gt: ArrayLike<number>): number {
  if (pred.length !== gt.length) throw new MetricInputError(`maskIou: prediction (${pred.length}) and ground truth (${gt.length}) differ in size`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0;
    const g = gt[i] !== 0;
    if (p && g) inter++;
    if (p || g) union++;
  }
  return union === 0 ? 1 : inter / union;
}
