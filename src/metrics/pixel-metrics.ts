/**
 * All pixel-level metrics of one pooled category from a single sorted pass (AUROC, AP, F1-max and,
 * for the 'exact' definition, AUPRO); the 'grid' AUPRO needs no sort, only one histogram pass.
 * Image-level metrics use the same accumulators on the (few) image scores.
 */
import { ApAccumulator } from './average-precision.js';
import { AurocAccumulator } from './auroc.js';
import { auproGridSorted, type AuproMode, ExactProAccumulator, type RegionPixels, regionWeights } from './aupro.js';
import { F1MaxAccumulator } from './f1-max.js';
import { keyToScore, sortScores, sweepSmall, sweepThresholds } from './ranking.js';

export interface RankingMetrics {
  auroc: number | null;
  ap: number | null;
  f1Max: number | null;
  /** Threshold reaching F1-max (predict anomalous when score >= it); null when undefined. */
  f1Threshold: number | null;
}

export interface PixelMetrics extends RankingMetrics {
  aupro: number | null;
}

export interface PixelMetricOptions {
  aupro?: AuproMode | 'none';
  fprLimit?: number;
  gridSteps?: number;
}

export function pixelMetrics(px: RegionPixels, opts: PixelMetricOptions = {}): PixelMetrics {
  const mode = opts.aupro ?? 'grid';
  const limit = opts.fprLimit ?? 0.3;
  const exact = mode === 'exact';
  const sorted = sortScores(px.scores, px.labels, mode === 'none' ? undefined : px.posRegion);
  const { P, N } = sorted;
  const roc = new AurocAccumulator(P, N);
  const ap = new ApAccumulator(P, N);
  const f1 = new F1MaxAccumulator(P, N);
  const R = px.regionArea.length;
  let aupro: number | null = null;
  if (exact) {
    const pro = new ExactProAccumulator(N, R, limit);
    const w = R > 0 ? regionWeights(px.regionArea) : undefined;
    sweepThresholds(
      sorted,
      (tp, fp, weight, key) => {
        roc.step(tp, fp);
        ap.step(tp, fp);
        f1.step(tp, fp, key);
        pro.step(fp, weight);
      },
      w,
    );
    aupro = R > 0 ? pro.value() : null;
  } else {
    sweepThresholds(sorted, (tp, fp, _w, key) => {
      roc.step(tp, fp);
      ap.step(tp, fp);
      f1.step(tp, fp, key);
    });
    if (mode === 'grid') aupro = auproGridSorted(sorted, px.regionArea, limit, opts.gridSteps ?? 200);
  }
  const f1v = f1.value();
  return {
    auroc: roc.value(),
    ap: ap.value(),
    f1Max: f1v,
    f1Threshold: f1v === null ? null : keyToScore(f1.bestAt),
    aupro,
  };
}

/** AUROC, AP and F1-max of a few scores (e.g. one per image) in full double precision. */
export function rankingMetrics(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): RankingMetrics {
  const steps: number[] = [];
  const { P, N } = sweepSmall(scores, labels, (tp, fp, t) => steps.push(tp, fp, t));
  const roc = new AurocAccumulator(P, N);
  const ap = new ApAccumulator(P, N);
  const f1 = new F1MaxAccumulator(P, N);
  for (let i = 0; i < steps.length; i += 3) {
    roc.step(steps[i], steps[i + 1]);
    ap.step(steps[i], steps[i + 1]);
    f1.step(steps[i], steps[i + 1], steps[i + 2]);
  }
  const f1v = f1.value();
  return { auroc: roc.value(), ap: ap.value(), f1Max: f1v, f1Threshold: f1v === null ? null : f1.bestAt };
}
