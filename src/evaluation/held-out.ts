/**
 * Leave-one-dataset-out choice of one knob: given each candidate's figure on each dataset, the
 * value each dataset would get if the choice were made on the other datasets only, beside the
 * in-sample choice (best mean over all, which has seen the dataset it is reported on) and the
 * dataset's own best. Higher is better; ties go to the earlier candidate, so list today's default
 * first and a change has to win to be chosen.
 */
import { mean } from '../util/numeric.js';
export interface HeldOutRow {
  dataset: number;
  /** Candidate chosen on the other datasets, and its figure on this one. */
  chosen: number;
  heldOut: number;
  /** The in-sample candidate's figure on this dataset. */
  inSample: number;
  /** This dataset's best candidate and its figure (what no honest choice can promise). */
  ownBest: number;
  ownBestValue: number;
}

export function argmaxFirst(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** `score[c][d]`: candidate c on dataset d (at least two datasets). */
export function leaveOneDatasetOut(score: readonly (readonly number[])[]): { inSampleChoice: number; rows: HeldOutRow[] } {
  const nd = score[0]?.length ?? 0;
  if (score.length === 0 || nd < 2) throw new Error('leaveOneDatasetOut: needs at least one candidate and two datasets');
  if (score.some((r) => r.length !== nd)) throw new Error('leaveOneDatasetOut: every candidate needs a figure on every dataset');
  const inSampleChoice = argmaxFirst(score.map((r) => mean(r)));
  const rows = Array.from({ length: nd }, (_, d) => {
    const chosen = argmaxFirst(score.map((r) => mean(r.filter((_, j) => j !== d))));
    const ownBest = argmaxFirst(score.map((r) => r[d]));
    return { dataset: d, chosen, heldOut: score[chosen][d], inSample: score[inSampleChoice][d], ownBest, ownBestValue: score[ownBest][d] };
  });
  return { inSampleChoice, rows };
}

/** One knob and its values, today's default first. */
export interface KnobValues {
  key: string;
  values: readonly string[];
}

/** A config of a one-knob-at-a-time grid: the defaults with at most one knob changed. */
export interface GridCandidate {
  /** Index into the knobs of the knob this candidate changes; -1 for the defaults themselves. */
  knob: number;
  /** `key=value` for every knob (the changed one included), as `--set` takes them. */
  set: string[];
  label: string;
}

/**
 * The defaults (every knob's first value) and, per knob, each of its other values with the rest
 * at their defaults. Knobs interact, but a full grid multiplies the runs; around a default that
 * was tuned already, single moves are where a held-out change would first show. The defaults come
 * first, so ties keep them.
 */
export function oneKnobAtATime(knobs: readonly KnobValues[]): GridCandidate[] {
  if (knobs.some((k) => k.values.length === 0)) throw new Error('oneKnobAtATime: every knob needs at least its default value');
  const base = knobs.map((k) => `${k.key}=${k.values[0]}`);
  const out: GridCandidate[] = [{ knob: -1, set: base, label: 'defaults' }];
  knobs.forEach((k, i) => {
    for (const v of k.values.slice(1)) {
      const set = base.slice();
      set[i] = `${k.key}=${v}`;
      out.push({ knob: i, set, label: `${k.key}=${v}` });
    }
  });
  return out;
}

/**
 * Rows of `score` (one per grid candidate) that a choice over one knob alone sees: the defaults
 * and that knob's other values, defaults first.
 */
export function knobRows(grid: readonly GridCandidate[], knob: number): number[] {
  return grid.flatMap((c, i) => (c.knob === -1 || c.knob === knob ? [i] : []));
}
