/**
 * Per-category curves as metrics.json stores them: the pixel PR and ROC curves and the PRO curve up
 * to the AUPRO limit, each downsampled to at most `maxPoints` points (curve-points.ts) with both
 * ends and the F1-max point kept exact, so a report can draw them without re-reading any map and
 * its F1-max dot is the very threshold the metrics report.
 *
 * Input is what the shared threshold sweep (ranking.ts sweepThresholds) visits: one entry per
 * distinct score from the highest down, with the cumulative true / false positive counts
 * (score >= threshold) and, for the exact AUPRO, the cumulative mean region overlap. Two ways in:
 *  - `curvesFromSweep(arrays)`: pure, from full (or already thinned) arrays;
 *  - `CurveRecorder`: fed inside the sweep's visitor, keeps only points that moved by `eps` in a
 *    plot's unit square, so memory stays small whatever the number of distinct thresholds (a
 *    category pools up to 2^31 pixels), then calls `curvesFromSweep`.
 */
import { selectCurvePoints } from './curve-points.js';

/** The JSON added per category to metrics.json as `curves`; points ordered by decreasing threshold. */
export interface CategoryCurves {
  /** Distinct thresholds of the full sweep (before downsampling). */
  n_thresholds: number;
  /** The budget the curves were downsampled to. */
  max_points: number;
  /** Thresholds are on the evaluated map values (after the category min-max when normalised). */
  pr: { recall: number[]; precision: number[]; threshold: number[] };
  roc: { fpr: number[]; tpr: number[]; threshold: number[] };
  /** PRO up to `fpr_limit` (FPR not rescaled); null without a region or without a normal pixel. */
  pro: { definition: 'grid' | 'exact'; fpr_limit: number; fpr: number[]; pro: number[]; threshold: number[] } | null;
  /** The exact F1-max operating point, also present unrounded in pr / roc at `index_pr` / `index_roc`. */
  f1_max_point: {
    threshold: number;
    precision: number;
    recall: number;
    f1: number;
    fpr: number;
    tp: number;
    fp: number;
    index_pr: number;
    index_roc: number;
  } | null;
}

export interface SweepArrays {
  /** Cumulative true positives after each distinct threshold (thresholds descending). */
  tp: ArrayLike<number>;
  fp: ArrayLike<number>;
  threshold: ArrayLike<number>;
  P: number;
  N: number;
  /** Cumulative mean region overlap per threshold: the exact PRO curve. */
  proWeight?: ArrayLike<number>;
}

/** The grid definition's 200-threshold PRO curve (aupro.ts gridProCurveSorted). */
export interface GridProInput {
  thresholds: ArrayLike<number>;
  fpr: ArrayLike<number>;
  pro: ArrayLike<number>;
}

export interface CurveOptions {
  maxPoints?: number;
  fprLimit?: number;
  /** The grid PRO curve, when AUPRO uses the grid definition. */
  gridPro?: GridProInput | null;
  /** Distinct thresholds of the full sweep, when the arrays are already thinned. */
  nThresholds?: number;
  /** Index into the arrays of the F1-max point; computed when absent. */
  f1Index?: number;
  /** Significant digits of the stored values (the F1-max point is never rounded). */
  digits?: number;
}

/** Index of the F1-max threshold: the first (highest) reaching max 2TP / (TP + FP + P), as F1MaxAccumulator. */
export function f1MaxIndex(tp: ArrayLike<number>, fp: ArrayLike<number>, P: number): number {
  let best = 0;
  let at = -1;
  for (let i = 0; i < tp.length; i++) {
    const f1 = (2 * tp[i]) / (tp[i] + fp[i] + P);
    if (f1 > best) {
      best = f1;
      at = i;
    }
  }
  return at;
}

function rounder(digits: number): (v: number) => number {
  return (v) => (v === 0 || !Number.isFinite(v) ? v : Number(v.toPrecision(digits)));
}

/** Points of a PRO curve up to the limit, downsampled and rounded. */
function proCurve(f: number[], p: number[], t: number[], limit: number, maxPoints: number, r: (v: number) => number) {
  const idx = selectCurvePoints(f, p, { maxPoints, xRange: [0, limit] });
  return { fpr: idx.map((i) => r(f[i])), pro: idx.map((i) => r(p[i])), threshold: idx.map((i) => r(t[i])) };
}

/** The curves JSON from sweep arrays. Pure. */
export function curvesFromSweep(s: SweepArrays, opts: CurveOptions = {}): CategoryCurves {
  const maxPoints = opts.maxPoints ?? 512;
  const limit = opts.fprLimit ?? 0.3;
  const r = rounder(opts.digits ?? 6);
  const n = s.tp.length;
  const { P, N } = s;
  const recall = new Float64Array(n);
  const precision = new Float64Array(n);
  const fpr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    recall[i] = P > 0 ? s.tp[i] / P : 0;
    precision[i] = s.tp[i] + s.fp[i] > 0 ? s.tp[i] / (s.tp[i] + s.fp[i]) : 1;
    fpr[i] = N > 0 ? s.fp[i] / N : 0;
  }
  const defined = P > 0 && N > 0 && n > 0;
  const f1i = defined ? (opts.f1Index ?? f1MaxIndex(s.tp, s.fp, P)) : -1;
  const keep = f1i >= 0 ? [f1i] : [];
  const prIdx = selectCurvePoints(recall, precision, { maxPoints, keep });
  const rocIdx = selectCurvePoints(fpr, recall, { maxPoints, keep });
  // The F1-max point stays unrounded, so readers find it by value as well as by index.
  const val = (i: number, v: number) => (i === f1i ? v : r(v));
  const pr = {
    recall: prIdx.map((i) => val(i, recall[i])),
    precision: prIdx.map((i) => val(i, precision[i])),
    threshold: prIdx.map((i) => val(i, s.threshold[i])),
  };
  const roc = {
    fpr: rocIdx.map((i) => val(i, fpr[i])),
    tpr: rocIdx.map((i) => val(i, recall[i])),
    threshold: rocIdx.map((i) => val(i, s.threshold[i])),
  };

  let pro: CategoryCurves['pro'] = null;
  if (opts.gridPro) {
    const g = opts.gridPro;
    const f: number[] = [];
    const p: number[] = [];
    const t: number[] = [];
    for (let k = 0; k < g.fpr.length; k++) {
      if (!(g.fpr[k] <= limit)) continue;
      f.push(g.fpr[k]);
      p.push(g.pro[k]);
      t.push(g.thresholds[k]);
    }
    pro = { definition: 'grid', fpr_limit: limit, ...proCurve(f, p, t, limit, maxPoints, r) };
  } else if (s.proWeight && N > 0) {
    // Exact definition (aupro.ts ExactProAccumulator): from (0, 0), every threshold up to the
    // limit, PRO interpolated at the limit.
    const f: number[] = [0];
    const p: number[] = [0];
    const t: number[] = [n > 0 && Number.isFinite(s.threshold[0]) ? s.threshold[0] : 0];
    for (let i = 0; i < n; i++) {
      const fi = fpr[i];
      const pi = s.proWeight[i];
      if (fi <= limit) {
        f.push(fi);
        p.push(pi);
        t.push(s.threshold[i]);
        if (fi === limit) break;
      } else {
        const f0 = f[f.length - 1];
        const p0 = p[p.length - 1];
        f.push(limit);
        p.push(p0 + ((pi - p0) * (limit - f0)) / (fi - f0));
        t.push(s.threshold[i]);
        break;
      }
    }
    pro = { definition: 'exact', fpr_limit: limit, ...proCurve(f, p, t, limit, maxPoints, r) };
  }

  const f1_max_point =
    f1i < 0
      ? null
      : {
          threshold: s.threshold[f1i],
          precision: precision[f1i],
          recall: recall[f1i],
          f1: (2 * s.tp[f1i]) / (s.tp[f1i] + s.fp[f1i] + P),
          fpr: fpr[f1i],
          tp: s.tp[f1i],
          fp: s.fp[f1i],
          index_pr: prIdx.indexOf(f1i),
          index_roc: rocIdx.indexOf(f1i),
        };
  return { n_thresholds: opts.nThresholds ?? n, max_points: maxPoints, pr, roc, pro, f1_max_point };
}

export interface RecorderOptions {
  /** Smallest move, in a plot's unit square, that keeps a point (default 1/8192). */
  eps?: number;
  fprLimit?: number;
  /** Record the cumulative region overlap too (exact AUPRO definition). */
  withPro?: boolean;
}

/**
 * Records a threshold sweep in bounded memory: a point is kept when it moved at least `eps` on an
 * axis of the ROC, PR or (up to 1.5 x the limit) PRO plot since the last kept point; the last point
 * and the F1-max point are always kept. `step` takes the sweep's cumulative counts, thresholds
 * descending; `at` is the threshold as the sweep gives it (a sort key), turned into a value by
 * `finish`, so the many points that are dropped cost no conversion.
 */
export class CurveRecorder {
  private readonly tp: number[] = [];
  private readonly fp: number[] = [];
  private readonly at: number[] = [];
  private readonly pw: number[] = [];
  private steps = 0;
  private kTp = 0;
  private kFp = 0;
  private kW = 0;
  private lastTp = 0;
  private lastFp = 0;
  private lastW = 0;
  private lastAt = 0;
  private lastKept = false;
  private bestF1 = 0;
  private best = { tp: 0, fp: 0, w: 0, at: 0, step: -1 };
  private bestKeptAt = -1;
  private readonly epsTp: number;
  private readonly epsFp: number;
  private readonly eps: number;
  private readonly proFp: number;
  private readonly epsProFp: number;

  constructor(
    private readonly P: number,
    private readonly N: number,
    private readonly opts: RecorderOptions = {},
  ) {
    this.eps = opts.eps ?? 1 / 8192;
    const limit = opts.fprLimit ?? 0.3;
    this.epsTp = this.eps * Math.max(P, 1);
    this.epsFp = this.eps * Math.max(N, 1);
    this.proFp = 1.5 * limit * Math.max(N, 1);
    this.epsProFp = this.epsFp * limit;
  }

  /** Cumulative counts after one distinct threshold; `weight` is the cumulative mean region overlap. */
  step(tp: number, fp: number, weight: number, at: number): void {
    const f1 = (2 * tp) / (tp + fp + this.P);
    if (f1 > this.bestF1) {
      this.bestF1 = f1;
      this.best = { tp, fp, w: weight, at, step: this.steps };
      this.bestKeptAt = -1;
    }
    let moved = this.steps === 0 || Math.abs(tp - this.kTp) >= this.epsTp || Math.abs(fp - this.kFp) >= this.epsFp;
    if (!moved) {
      const p = tp + fp > 0 ? tp / (tp + fp) : 1;
      const q = this.kTp + this.kFp > 0 ? this.kTp / (this.kTp + this.kFp) : 1;
      moved = Math.abs(p - q) >= this.eps;
    }
    if (!moved && this.opts.withPro && fp <= this.proFp) {
      moved = Math.abs(fp - this.kFp) >= this.epsProFp || Math.abs(weight - this.kW) >= this.eps;
    }
    if (moved) {
      this.push(tp, fp, weight, at);
      if (this.best.step === this.steps) this.bestKeptAt = this.tp.length - 1;
    }
    this.lastKept = moved;
    this.lastTp = tp;
    this.lastFp = fp;
    this.lastW = weight;
    this.lastAt = at;
    this.steps++;
  }

  private push(tp: number, fp: number, w: number, at: number): void {
    this.tp.push(tp);
    this.fp.push(fp);
    this.pw.push(w);
    this.at.push(at);
    this.kTp = tp;
    this.kFp = fp;
    this.kW = w;
  }

  /** The curves JSON; `threshold` turns the recorded `at` values into thresholds (default: as given). */
  finish(opts: Omit<CurveOptions, 'nThresholds' | 'f1Index'> & { threshold?: (at: number) => number } = {}): CategoryCurves {
    if (this.steps > 0 && !this.lastKept) this.push(this.lastTp, this.lastFp, this.lastW, this.lastAt);
    let f1Index: number | undefined;
    const b = this.best;
    if (b.step >= 0) {
      if (this.bestKeptAt >= 0) {
        f1Index = this.bestKeptAt;
      } else if (b.step === this.steps - 1) {
        f1Index = this.tp.length - 1; // the last point, pushed above
      } else {
        // Insert the best point in sweep order: `at` descends along the arrays as thresholds do.
        let i = this.at.findIndex((a) => a < b.at);
        if (i < 0) i = this.at.length;
        this.tp.splice(i, 0, b.tp);
        this.fp.splice(i, 0, b.fp);
        this.pw.splice(i, 0, b.w);
        this.at.splice(i, 0, b.at);
        f1Index = i;
      }
    }
    const toThreshold = opts.threshold ?? ((a: number) => a);
    return curvesFromSweep(
      { tp: this.tp, fp: this.fp, threshold: this.at.map(toThreshold), P: this.P, N: this.N, proWeight: this.opts.withPro ? this.pw : undefined },
      { ...opts, fprLimit: this.opts.fprLimit ?? opts.fprLimit, nThresholds: this.steps, f1Index },
    );
  }
}
