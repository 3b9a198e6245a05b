/**
 * Threshold policies of the few-shot methods as config strings (`fewshot.threshold`): pure string
 * parsing, here beside the schema that validates them, so a bad policy is refused with the config
 * rather than when the method starts. What each policy does is in
 * src/methods/components/threshold.ts.
 *
 *   fixed:<v>                    v >= 0 on the raw score scale (cosine distance, 0..2)
 *   otsu[:floor]                 floor >= 0
 *   adaptive[:quantile[:factor]] quantile in [0, 1], factor > 0
 *   ...+rel<r>                   r in (0, 1]: per region, keep pixels above r x its peak
 */
export type ThresholdPolicy = (
  | { kind: 'fixed'; value: number }
  | { kind: 'otsu'; bins?: number; floor?: number }
  | { kind: 'adaptive'; quantile?: number; factor?: number }
) & { relative?: number };

export const DEFAULT_ADAPTIVE = { quantile: 0.999, factor: 1.0 } as const;

const FORMS = 'fixed:<v>, otsu[:floor], adaptive[:quantile[:factor]], optionally +rel<r>';

/**
 * Parses `fixed:0.35`, `otsu`, `otsu:0.2` (floor), `adaptive`, `adaptive:0.995`,
 * `adaptive:0.999:1.1`, each optionally followed by `+rel<r>` (e.g. `adaptive+rel0.5`). Throws an
 * Error naming the spec, the part and its allowed range.
 */
export function parseThresholdPolicy(spec: string): ThresholdPolicy {
  const [head, ...mods] = spec.split('+');
  let relative: number | undefined;
  for (const m of mods) {
    const r = /^rel(.+)$/.exec(m);
    const v = r ? Number(r[1]) : NaN;
    if (!r || !Number.isFinite(v)) throw new Error(`threshold policy '${spec}': unknown modifier '+${m}' (expected +rel<fraction>)`);
    if (!(v > 0 && v <= 1)) throw new Error(`threshold policy '${spec}': rel must be in (0, 1], got ${r[1]}`);
    relative = v;
  }
  const p = parseBasePolicy(head, spec);
  return relative === undefined ? p : { ...p, relative };
}

function parseBasePolicy(head: string, spec: string): ThresholdPolicy {
  const [kind, ...parts] = head.split(':');
  const num = (s: string | undefined, what: string, ok: (v: number) => boolean, range: string): number | undefined => {
    if (s === undefined || s === '') return undefined;
    const v = Number(s);
    if (!Number.isFinite(v)) throw new Error(`threshold policy '${spec}': ${what} '${s}' is not a number`);
    if (!ok(v)) throw new Error(`threshold policy '${spec}': ${what} must be ${range}, got ${s}`);
    return v;
  };
  const most = (n: number) => {
    if (parts.length > n) throw new Error(`threshold policy '${spec}': too many ':' parts for ${kind} (${FORMS})`);
  };
  switch (kind) {
    case 'fixed': {
      most(1);
      const value = num(parts[0], 'value', (v) => v >= 0, '>= 0 (scores are distances)');
      if (value === undefined) throw new Error(`threshold policy '${spec}': fixed needs a value, e.g. fixed:0.35`);
      return { kind: 'fixed', value };
    }
    case 'otsu':
      most(1);
      return { kind: 'otsu', floor: num(parts[0], 'floor', (v) => v >= 0, '>= 0') };
    case 'adaptive':
      most(2);
      return {
        kind: 'adaptive',
        quantile: num(parts[0], 'quantile', (v) => v >= 0 && v <= 1, 'in [0, 1]'),
        factor: num(parts[1], 'factor', (v) => v > 0, '> 0'),
      };
    default:
      throw new Error(`unknown threshold policy '${spec}' (${FORMS})`);
  }
}

export function describeThresholdPolicy(p: ThresholdPolicy): string {
  return describeBase(p) + (p.relative ? `+rel${p.relative}` : '');
}

function describeBase(p: ThresholdPolicy): string {
  switch (p.kind) {
    case 'fixed':
      return `fixed:${p.value}`;
    case 'otsu':
      return p.floor === undefined ? 'otsu' : `otsu:${p.floor}`;
    case 'adaptive':
      return `adaptive:${p.quantile ?? DEFAULT_ADAPTIVE.quantile}:${p.factor ?? DEFAULT_ADAPTIVE.factor}`;
  }
}

/**
 * The one spelling of a policy string: its parts kept as given (an omitted part stays omitted, so
 * `adaptive` is not rewritten to its defaults) and every number written as JavaScript writes it,
 * so `fixed:0.30` and `fixed:.3` both read `fixed:0.3`. Throws as parseThresholdPolicy.
 */
export function canonicalThresholdPolicy(spec: string): string {
  const p = parseThresholdPolicy(spec);
  const num = (v: number | undefined) => (v === undefined ? '' : String(v));
  let head: string;
  switch (p.kind) {
    case 'fixed':
      head = `fixed:${p.value}`;
      break;
    case 'otsu':
      head = p.floor === undefined ? 'otsu' : `otsu:${p.floor}`;
      break;
    case 'adaptive':
      head = p.factor !== undefined ? `adaptive:${num(p.quantile)}:${p.factor}` : p.quantile !== undefined ? `adaptive:${p.quantile}` : 'adaptive';
      break;
  }
  return p.relative === undefined ? head : `${head}+rel${p.relative}`;
}
