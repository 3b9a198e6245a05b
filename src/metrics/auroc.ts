/**
 * AUROC: area under the ROC curve (TPR against FPR), with thresholds at every distinct score and
 * ties handled as sklearn's `roc_auc_score`: tied scores enter the curve together, which draws a
 * diagonal segment (a tie between a positive and a negative counts one half).
 *
 *   AUROC = sum_k (FP_k - FP_{k-1}) (TP_k + TP_{k-1}) / (2 P N)
 *
 * over thresholds k in decreasing order, (TP_0, FP_0) = (0, 0). The sum is kept in integers, so
 * it is exact up to the final division.
 *
 * Undefined when only one class is present (P = 0 or N = 0): the value is `null` (sklearn raises).
 * Constant scores give 0.5. NaN scores throw MetricInputError.
 */
import { sweepSmall } from './ranking.js';

export class AurocAccumulator {
  private area = 0;
  private tp0 = 0;
  private fp0 = 0;

  constructor(
    private readonly P: number,
    private readonly N: number,
  ) {}

  step(tp: number, fp: number): void {
    this.area += (fp - this.fp0) * (tp + this.tp0);
    this.tp0 = tp;
    this.fp0 = fp;
  }

  value(): number | null {
    if (this.P === 0 || this.N === 0) return null;
    return this.area / (2 * this.P * this.N);
  }
}

/** AUROC of scores against binary labels (any length; see pixel-metrics.ts for pooled pixels). */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number | null {
  let acc: AurocAccumulator | null = null;
  const steps: Array<[number, number]> = [];
  const { P, N } = sweepSmall(scores, labels, (tp, fp) => steps.push([tp, fp]));
  acc = new AurocAccumulator(P, N);
  for (const [tp, fp] of steps) acc.step(tp, fp);
  return acc.value();
}
