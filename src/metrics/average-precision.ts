/**
 * Average precision, as sklearn's `average_precision_score`: the step-wise (not interpolated)
 * area under the precision-recall curve with a threshold at every distinct score,
 *
 *   AP = sum_k (R_k - R_{k-1}) P_k,   P_k = TP_k / (TP_k + FP_k),   R_k = TP_k / P,
 *
 * thresholds k in decreasing order, R_0 = 0. Tied scores enter together (one point per distinct
 * score), so a tie is neither favoured nor penalised by the order of the input.
 *
 * Undefined when there is no positive (`null`; sklearn warns and returns a meaningless value) or
 * no negative (`null` too, for symmetry with AUROC: one class carries no ranking information).
 * Constant scores give the prevalence P / (P + N). NaN scores throw MetricInputError.
 */
import { sweepSmall } from './ranking.js';

export class ApAccumulator {
  private sum = 0;
  private tp0 = 0;

  constructor(
    private readonly P: number,
    private readonly N: number,
  ) {}

  step(tp: number, fp: number): void {
    if (tp !== this.tp0) {
      this.sum += (tp - this.tp0) * (tp / (tp + fp));
      this.tp0 = tp;
    }
  }

  value(): number | null {
    if (this.P === 0 || this.N === 0) return null;
    return this.sum / this.P;
  }
}

export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number | null {
  const steps: Array<[number, number]> = [];
  const { P, N } = sweepSmall(scores, labels, (tp, fp) => steps.push([tp, fp]));
  const acc = new ApAccumulator(P, N);
  for (const [tp, fp] of steps) acc.step(tp, fp);
  return acc.value();
}
