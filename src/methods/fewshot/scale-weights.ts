/**
 * Per-category weights of a multi-scale backbone's scales (config `fewshot.scale_weights`), read
 * from the references' own leave-one-out scores only (never a test image or label). Every scale is
 * normalised so that its pooled leave-one-out q999 is 1 (memory-bank.ts); what that leaves free is
 * how far above 1 a normal image's own maximum reaches on the scale. A scale whose normal images
 * each hold a few patches far above the rest (fine grain of a stochastic texture at stride 4,
 * specular spots) puts false peaks on every test image, normal ones included; its share of the
 * average is lowered in proportion.
 *
 * - 'equal': every scale weight 1 (the plain average).
 * - 'loo-max': w_s proportional to 1 / max(1, median over references of the reference's largest
 *   normalised leave-one-out patch score on s), rescaled to a mean of 1 so the combined map keeps
 *   its units.
 */
export const SCALE_WEIGHTINGS = ['equal', 'loo-max'] as const;
export type ScaleWeighting = (typeof SCALE_WEIGHTINGS)[number];

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * `maxima[s][i]`: reference i's largest normalised leave-one-out patch score on scale s (at
 * least one reference per scale). Returns one weight per scale, mean 1.
 */
export function scaleWeights(maxima: readonly (readonly number[])[], rule: ScaleWeighting): number[] {
  if (rule === 'equal' || maxima.length === 0) return maxima.map(() => 1);
  if (maxima.some((m) => m.length === 0)) throw new Error('scaleWeights: every scale needs at least one reference maximum');
  const raw = maxima.map((m) => 1 / Math.max(1, median(m)));
  const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
  return raw.map((w) => w / mean);
}
