/**
 * F1-max: the largest F1 = 2PR / (P + R) over the whole precision-recall curve, evaluated at every
 * distinct score as threshold (predict anomalous when score >= t). With TP, FP at a threshold and
 * P positives this is 2 TP / (TP + FP + P). It is exact: the reference code's 100-step threshold
 * grid can only miss the maximum, never exceed it. Matches taking the max of 2PR/(P+R) over
 * sklearn's `precision_recall_curve` (0 where P + R = 0).
 *
 * Also returns the threshold reaching it (the lowest score still predicted anomalous).
 * Undefined when only one class is present (`null`). Constant scores give 2P / (2P + N).
 */
import { sweepSmall } from './ranking.js';

export class F1MaxAccumulator {
  best = 0;
  /** Key (or score) of the threshold that reached `best`, as given to step(). */
  bestAt = Number.NaN;

  constructor(
    private readonly P: number,
    private readonly N: number,
  ) {}

  step(tp: number, fp: number, at: number): void {
    const f1 = (2 * tp) / (tp + fp + this.P);
    if (f1 > this.best) {
      this.best = f1;
      this.bestAt = at;
    }
  }

  value(): number | null {
    if (this.P === 0 || this.N === 0) return null;
    return this.best;
  }
}

export interface F1Max {
  f1: number;
  /** Score threshold: predict anomalous when score >= threshold. */
  threshold: number;
}

export function f1Max(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): F1Max | null {
  const steps: Array<[number, number, number]> = [];
  const { P, N } = sweepSmall(scores, labels, (tp, fp, t) => steps.push([tp, fp, t]));
  const acc = new F1MaxAccumulator(P, N);
  for (const [tp, fp, t] of steps) acc.step(tp, fp, t);
  const v = acc.value();
  return v === null ? null : { f1: v, threshold: acc.bestAt };
}
