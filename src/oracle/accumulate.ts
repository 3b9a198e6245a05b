/**
 * Per-category figures of the oracle study.
 *
 * IoU: the seed does not say how it averages, so both are kept. `iou` (the reported figure) is
 * the mean over anomalous images of the per-image IoU between the union of predicted masks and
 * the ground truth; `iou_pooled` sums intersections and unions over the category first (large
 * defects weigh more). Both at the image's own resolution.
 *
 * P-AUROC: every pixel of the category's evaluated images pooled. The score is SAM's mask logit
 * (the largest over the image's prompts); sigmoid is monotonic, so this is the AUROC of the mask
 * probabilities, without float32 saturating them to exactly 0 or 1. Logits are clamped to
 * [-LOGIT_CLAMP, LOGIT_CLAMP] and an image without prompts scores -LOGIT_CLAMP everywhere. Maps are
 * resized to evalSize x evalSize (bicubic; masks nearest), as the project's evaluation protocol,
 * or kept at native size with evalSize 0.
 */
import { resizeBicubic, resizeNearest } from '../image/resize.js';
import { AurocAccumulator } from '../metrics/auroc.js';
import { sortScores, sweepThresholds } from '../metrics/ranking.js';

export const LOGIT_CLAMP = 100;

export interface OracleFigures {
  images: number;
  /** Mean per-image IoU over anomalous images (null when there are none). */
  iou: number | null;
  iou_pooled: number | null;
  pixel_auroc: number | null;
  prompts: number;
}

export class OracleAccumulator {
  private ious: number[] = [];
  private inter = 0;
  private union = 0;
  private scores: Float32Array[] = [];
  private labels: Uint8Array[] = [];
  private promptCount = 0;

  constructor(readonly evalSize = 400) {}

  /**
   * Adds one image: its binary prediction, its score map (max logit; null when no prompt was
   * given) and its ground truth, all width*height.
   */
  add(pred: Uint8Array, score: Float32Array | null, gt: Uint8Array, width: number, height: number, prompts: number): void {
    const n = width * height;
    if (pred.length !== n || gt.length !== n || (score && score.length !== n)) throw new Error('OracleAccumulator.add: sizes differ');
    this.promptCount += prompts;
    let inter = 0;
    let union = 0;
    let positives = 0;
    for (let i = 0; i < n; i++) {
      if (gt[i]) positives++;
      if (pred[i] && gt[i]) inter++;
      if (pred[i] || gt[i]) union++;
    }
    if (positives > 0) {
      this.ious.push(inter / union);
      this.inter += inter;
      this.union += union;
    }
    const s = new Float32Array(n);
    if (score) for (let i = 0; i < n; i++) s[i] = Math.min(LOGIT_CLAMP, Math.max(-LOGIT_CLAMP, score[i]));
    else s.fill(-LOGIT_CLAMP);
    const E = this.evalSize;
    if (E > 0 && (width !== E || height !== E)) {
      this.scores.push(resizeBicubic(s, width, height, E, E));
      this.labels.push(resizeNearest(gt, width, height, E, E));
    } else {
      this.scores.push(s);
      this.labels.push(gt.slice());
    }
  }

  finish(): OracleFigures {
    const total = this.scores.reduce((a, s) => a + s.length, 0);
    const scores = new Float32Array(total);
    const labels = new Uint8Array(total);
    let off = 0;
    for (let k = 0; k < this.scores.length; k++) {
      scores.set(this.scores[k], off);
      labels.set(this.labels[k], off);
      off += this.scores[k].length;
    }
    const sorted = sortScores(scores, labels);
    const acc = new AurocAccumulator(sorted.P, sorted.N);
    sweepThresholds(sorted, (tp, fp) => acc.step(tp, fp));
    return {
      images: this.scores.length,
      iou: this.ious.length ? this.ious.reduce((a, b) => a + b, 0) / this.ious.length : null,
      iou_pooled: this.union > 0 ? this.inter / this.union : null,
      pixel_auroc: acc.value(),
      prompts: this.promptCount,
    };
  }
}
