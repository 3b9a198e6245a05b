/**
 * A nested config as dotted key -> leaf (arrays are leaves; an empty object has none). Two
 * encodings of the leaf, because two kinds of caller compare them differently: the sweep merges
 * and hashes the values themselves, the report compares runs by the JSON text of each value (so
 * `1` and `"1"`, or two equal arrays, compare as JSON does).
 */
export type FlatConfig = Record<string, string>;

export function flattenConfig(obj: unknown): Record<string, unknown>;
export function flattenConfig(obj: unknown, opts: { json: true }): FlatConfig;
export function flattenConfig(obj: unknown, opts?: { json: true }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (v: unknown, prefix: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
    } else if (prefix) out[prefix] = opts?.json ? JSON.stringify(v) : v;
  };
  walk(obj, '');
  return out;
}
