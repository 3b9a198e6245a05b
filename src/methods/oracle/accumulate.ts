/**
 * Per-category figures of the oracle study.
 *
 * IoU: the seed does not say how it averages, so both are kept. `iou` (the reported figure) is
 * the mean over anomalous images of the per-image IoU between the union of predicted masks and
 * the ground truth; `iou_pooled` sums intersections and unions over the category first (large
 * defects weigh more). Both at the image's own resolution.
 *
 * P-AUROC: every pixel of the category's evaluated images pooled, maps resized to
 * evalSize x evalSize (bicubic; masks nearest) as the project's evaluation protocol, or kept at
 * native size with evalSize 0. Two scores, because they differ a lot:
 *   pixel_auroc        the mask probability, sigmoid(largest logit over the image's prompts) in
 *                      float32, 0 for an image without prompts. Float32 saturates it to exactly 1
 *                      inside confident masks (and bicubic overshoot is clipped to [0, 1]), so
 *                      ties flatten the ranking there. This is what a Python pipeline taking
 *                      torch.sigmoid of SAM's logits gets, so it is the figure compared with the
 *                      seed.
 *   pixel_auroc_logit  the largest logit itself (same order without saturation), clamped to
 *                      [-LOGIT_CLAMP, LOGIT_CLAMP]; -LOGIT_CLAMP for an image without prompts.
 */
import { resizeBicubic, resizeNearest } from '../../image/resize.js';
import { AurocAccumulator } from '../../metrics/auroc.js';
import { sortScores, sweepThresholds } from '../../metrics/ranking.js';
import { mean, sigmoid } from '../../util/numeric.js';

export const LOGIT_CLAMP = 100;

export interface OracleFigures {
  images: number;
  /** Mean per-image IoU over anomalous images (null when there are none). */
  iou: number | null;
  iou_pooled: number | null;
  pixel_auroc: number | null;
  pixel_auroc_logit: number | null;
  prompts: number;
  /** Decoder calls this column's masks took (a refinement reusing its mode's decode counts that decode too). */
  decoder_calls: number;
  /** Their decoder time, ms. */
  decoder_ms: number;
}

export class OracleAccumulator {
  private ious: number[] = [];
  private inter = 0;
  private union = 0;
  private scores: Float32Array[] = [];
  private probs: Float32Array[] = [];
  private labels: Uint8Array[] = [];
  private promptCount = 0;
  private decoderCalls = 0;
  private decoderMs = 0;

  constructor(readonly evalSize = 400) {}

  /**
   * Adds one image: its binary prediction, its score map (max logit; null when no prompt was
   * given) and its ground truth, all width*height; the decoder calls and time it took (default:
   * one call per prompt, time not recorded).
   */
  add(pred: Uint8Array, score: Float32Array | null, gt: Uint8Array, width: number, height: number, prompts: number, decoder: { calls: number; ms: number } = { calls: prompts, ms: 0 }): void {
    const n = width * height;
    if (pred.length !== n || gt.length !== n || (score && score.length !== n)) throw new Error('OracleAccumulator.add: sizes differ');
    this.promptCount += prompts;
    this.decoderCalls += decoder.calls;
    this.decoderMs += decoder.ms;
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
    const p = new Float32Array(n);
    if (score) {
      for (let i = 0; i < n; i++) {
        s[i] = Math.min(LOGIT_CLAMP, Math.max(-LOGIT_CLAMP, score[i]));
        p[i] = sigmoid(score[i]);
      }
    } else s.fill(-LOGIT_CLAMP);
    const E = this.evalSize;
    if (E > 0 && (width !== E || height !== E)) {
      this.scores.push(resizeBicubic(s, width, height, E, E));
      const rp = resizeBicubic(p, width, height, E, E);
      for (let i = 0; i < rp.length; i++) rp[i] = Math.min(1, Math.max(0, rp[i]));
      this.probs.push(rp);
      this.labels.push(resizeNearest(gt, width, height, E, E));
    } else {
      this.scores.push(s);
      this.probs.push(p);
      this.labels.push(gt.slice());
    }
  }

  finish(): OracleFigures {
    const labels = concat(this.labels, Uint8Array);
    return {
      images: this.scores.length,
      iou: this.ious.length ? mean(this.ious) : null,
      iou_pooled: this.union > 0 ? this.inter / this.union : null,
      pixel_auroc: pooledAuroc(concat(this.probs, Float32Array), labels),
      pixel_auroc_logit: pooledAuroc(concat(this.scores, Float32Array), labels),
      prompts: this.promptCount,
      decoder_calls: this.decoderCalls,
      decoder_ms: +this.decoderMs.toFixed(1),
    };
  }
}

function concat<T extends Float32Array | Uint8Array>(parts: T[], Ctor: new (n: number) => T): T {
  const out = new Ctor(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p as never, off);
    off += p.length;
  }
  return out;
}

function pooledAuroc(scores: Float32Array, labels: Uint8Array): number | null {
  const sorted = sortScores(scores, labels);
  const acc = new AurocAccumulator(sorted.P, sorted.N);
  sweepThresholds(sorted, (tp, fp) => acc.step(tp, fp));
  return acc.value();
}
