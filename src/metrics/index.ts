export { auroc, AurocAccumulator } from './auroc.js';
export { averagePrecision, ApAccumulator } from './average-precision.js';
export { f1Max, F1MaxAccumulator, type F1Max } from './f1-max.js';
export {
  auproGrid,
  auproGridSorted,
  auproFromGridCurve,
  gridProCurveSorted,
  auproExactSorted,
  gridProCurve,
  parseAuproMode,
  regionWeights,
  type AuproMode,
  type RegionPixels,
} from './aupro.js';
export { maskIou } from './iou.js';
export { pixelMetrics, rankingMetrics, type PixelMetrics, type RankingMetrics, type PixelMetricOptions } from './pixel-metrics.js';
export { MetricInputError, radixSortU32, sortScores, sweepThresholds } from './ranking.js';
export { selectCurvePoints, type SelectOptions } from './curve-points.js';
export { CurveRecorder, curvesFromSweep, f1MaxIndex, type CategoryCurves } from './curves.js';
