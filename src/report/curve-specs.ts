/**
 * Per-category curve charts (Vega-Lite, pure): pixel PR and ROC of every run with its F1-max
 * point marked, and the per-region-overlap curve up to the AUPRO limit, from metrics.json's
 * stored curves (never from maps). The page and the paper figures draw the same spec.
 */
import { selectCurvePoints } from '../metrics/curve-points.js';
import type { CategoryCurves } from '../metrics/curves.js';
import { baseConfig, type ChartSize, PAGE_SIZE, r4, type RunColours, type Spec, VEGA_LITE_SCHEMA } from './chart-style.js';

export interface RunCurves {
  label: string;
  curves: CategoryCurves;
}

export type CurveKind = 'pr' | 'roc' | 'pro';

export const CURVE_KINDS: readonly CurveKind[] = ['pr', 'roc', 'pro'];

/**
 * The ROC's FPR axis is logarithmic from this value to 1: pixel ROCs of segmentation maps rise
 * within the first per mille of false positives, which a linear axis squeezes against the left
 * edge; smaller FPRs (including 0) are drawn at this value.
 */
export const ROC_MIN_FPR = 1e-4;

/**
 * One chart: a line per run and, for PR and ROC, the run's F1-max point as a ringed dot. `points`
 * re-thins the stored curves for display: their ~512 points are more than a chart of this size
 * shows, and 45 charts of 10 runs are inlined in one page.
 */
export function curveSpec(kind: CurveKind, title: string, runs: RunCurves[], colours: RunColours, size: ChartSize = PAGE_SIZE, points = 120): Spec {
  // One data row per run with its points as parallel arrays, expanded by a flatten transform: the
  // spec stays small and the points keep their stored order (the `o` field draws them in order).
  const lines: Array<{ run: string; x: number[]; y: number[] }> = [];
  const best: Array<Record<string, unknown>> = [];
  let limit = 0.3;
  for (const { label, curves } of runs) {
    let xs: number[];
    let ys: number[];
    if (kind === 'pr') [xs, ys] = [curves.pr.recall, curves.pr.precision];
    else if (kind === 'roc') [xs, ys] = [curves.roc.fpr, curves.roc.tpr];
    else {
      if (!curves.pro) continue;
      [xs, ys] = [curves.pro.fpr, curves.pro.pro];
      limit = curves.pro.fpr_limit;
    }
    if (kind === 'roc') xs = xs.map((v) => Math.max(v, ROC_MIN_FPR));
    const f1 = curves.f1_max_point;
    const keep = f1 && kind !== 'pro' ? [kind === 'pr' ? f1.index_pr : f1.index_roc] : [];
    // Thinned where the curve is drawn: on the log axis for the ROC.
    const idx =
      kind === 'roc'
        ? selectCurvePoints(xs.map(Math.log10), ys, { maxPoints: points, keep, xRange: [Math.log10(ROC_MIN_FPR), 0] })
        : selectCurvePoints(xs, ys, { maxPoints: points, keep, xRange: kind === 'pro' ? [0, limit] : [0, 1] });
    lines.push({ run: label, x: idx.map((i) => r4(xs[i])), y: idx.map((i) => r4(ys[i])) });
    if (f1 && kind !== 'pro') {
      best.push({ run: label, x: kind === 'pr' ? f1.recall : Math.max(f1.fpr, ROC_MIN_FPR), y: kind === 'pr' ? f1.precision : f1.recall, f1: r4(f1.f1), threshold: r4(f1.threshold) });
    }
  }
  const names: Record<CurveKind, [string, string, string, string]> = {
    pr: ['pixel PR', 'recall', 'precision', 'dot: F1-max threshold'],
    roc: ['pixel ROC', 'false positive rate (log scale)', 'true positive rate', 'dot: F1-max threshold'],
    pro: ['per-region overlap', 'false positive rate', 'PRO', `up to the AUPRO limit, FPR ${limit}`],
  };
  const [name, xTitle, yTitle, subtitle] = names[kind];
  const colour = { field: 'run', type: 'nominal', title: 'run', scale: colours };
  const layers: Spec[] = [
    {
      data: { values: lines },
      transform: [{ flatten: ['x', 'y'] }, { window: [{ op: 'row_number', as: 'o' }], groupby: ['run'] }],
      mark: { type: 'line', strokeWidth: 1.6, clip: true },
      encoding: {
        x: {
          field: 'x',
          type: 'quantitative',
          title: xTitle,
          scale: kind === 'roc' ? { type: 'log', domain: [ROC_MIN_FPR, 1], nice: false } : { domain: [0, kind === 'pro' ? limit : 1], nice: false },
          ...(kind === 'roc' ? { axis: { format: '~g', values: [1e-4, 1e-3, 1e-2, 1e-1, 1] } } : {}),
        },
        y: { field: 'y', type: 'quantitative', title: yTitle, scale: { domain: [0, 1], nice: false } },
        color: colour,
        order: { field: 'o', type: 'quantitative' },
      },
    },
  ];
  if (best.length) {
    layers.push({
      data: { values: best },
      mark: { type: 'point', filled: true, size: 70, stroke: '#222', strokeWidth: 1, opacity: 1 },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        color: colour,
        tooltip: [
          { field: 'run', type: 'nominal' },
          { field: 'f1', type: 'quantitative', title: 'F1-max' },
          { field: 'threshold', type: 'quantitative' },
        ],
      },
    });
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: `${title}: ${name}`, subtitle },
    width: size.width,
    height: size.height,
    config: baseConfig(size),
    layer: layers,
  };
}
