/** Scalar and array maths that models, methods, metrics and reports share: one definition each. */

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Arithmetic mean summed left to right; NaN for no values. */
export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Mean over the values that are defined; null when none is. */
export function meanDefined(values: ReadonlyArray<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length > 0 ? mean(v) : null;
}

/** Smallest and largest value (NaN never wins a comparison, so it is passed over); null for no values. */
export function valueRange(values: ArrayLike<number>): { min: number; max: number } | null {
  if (values.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/**
 * How the q-quantile interpolates between the order statistics a and b at fraction f: `weights`
 * as a*(1-f) + b*f, `offset` as a + (b-a)*f. Both are numpy's linear method in exact arithmetic;
 * they round differently in the last bit, and each caller keeps the one its figures were made with.
 */
export type QuantileLerp = 'weights' | 'offset';

/** The q-quantile (linear interpolation, as numpy's default) of the values; q is clamped to [0, 1]. */
export function quantile(values: ArrayLike<number>, q: number, lerp: QuantileLerp = 'weights'): number {
  if (values.length === 0) throw new Error('quantile: no values');
  const sorted = Float64Array.from(values).sort();
  const pos = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  if (i + 1 >= sorted.length) return sorted[i];
  const a = sorted[i];
  const b = sorted[i + 1];
  return lerp === 'weights' ? a * (1 - f) + b * f : a + (b - a) * f;
}
