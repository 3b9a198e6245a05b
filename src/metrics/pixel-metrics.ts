/**
 * All pixel-level metrics of one pooled category from a single sorted pass (AUROC, AP, F1-max and,
 * for the 'exact' definition, AUPRO); the 'grid' AUPRO needs no sort, only one histogram pass.
 * On request the same pass also records the downsampled PR / ROC / PRO curves (curves.ts): one
 * more visitor of the sweep, so the metric values are untouched.
 * Image-level metrics use the same accumulators on the (few) image scores.
 */
import { ApAccumulator } from './average-precision.js';
import { AurocAccumulator } from './auroc.js';
import { auproFromGridCurve, auproGridSorted, type AuproMode, ExactProAccumulator, gridProCurveSorted, type RegionPixels, regionWeights } from './aupro.js';
import { type CategoryCurves, CurveRecorder } from './curves.js';
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
  /** Downsampled curves, when `curvePoints` was given. */
  curves?: CategoryCurves;
}

export interface PixelMetricOptions {
  aupro?: AuproMode | 'none';
  fprLimit?: number;
  gridSteps?: number;
  /** Also record the PR / ROC / PRO curves, at most this many points each. */
  curvePoints?: number;
}

export function pixelMetrics(px: RegionPixels, opts: PixelMetricOptions = {}): PixelMetrics {
  const mode = opts.aupro ?? 'grid';
  const limit = opts.fprLimit ?? 0.3;
  const steps = opts.gridSteps ?? 200;
  const exact = mode === 'exact';
  const sorted = sortScores(px.scores, px.labels, mode === 'none' ? undefined : px.posRegion);
  const { P, N } = sorted;
  const roc = new AurocAccumulator(P, N);
  const ap = new ApAccumulator(P, N);
  const f1 = new F1MaxAccumulator(P, N);
  const R = px.regionArea.length;
  const rec = opts.curvePoints === undefined ? null : new CurveRecorder(P, N, { fprLimit: limit, withPro: exact && R > 0 });
  let aupro: number | null = null;
  let gridCurve: ReturnType<typeof gridProCurveSorted> | null = null;
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
        rec?.step(tp, fp, weight, key);
      },
      w,
    );
    aupro = R > 0 ? pro.value() : null;
  } else {
    sweepThresholds(sorted, (tp, fp, _w, key) => {
      roc.step(tp, fp);
      ap.step(tp, fp);
      f1.step(tp, fp, key);
      rec?.step(tp, fp, 0, key);
    });
    if (mode === 'grid') {
      if (rec && R > 0 && N > 0) {
        // The curve is needed anyway: integrate it as auproGridSorted does, rather than twice.
        gridCurve = gridProCurveSorted(sorted, px.regionArea, steps);
        aupro = auproFromGridCurve(gridCurve, limit);
      } else {
        aupro = auproGridSorted(sorted, px.regionArea, limit, steps);
      }
    }
  }
  const f1v = f1.value();
  const out: PixelMetrics = {
    auroc: roc.value(),
    ap: ap.value(),
    f1Max: f1v,
    f1Threshold: f1v === null ? null : keyToScore(f1.bestAt),
    aupro,
  };
  if (rec) out.curves = rec.finish({ maxPoints: opts.curvePoints, fprLimit: limit, gridPro: gridCurve, threshold: keyToScore });
  return out;
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
