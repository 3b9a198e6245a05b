/**
 * Values of a sweep's factors in one spelling each, before anything is expanded: two spellings
 * of one value (`fixed:0.3`, `fixed:0.30`, `fixed:.3`; `0.3` and `"0.3"` for a number key) would
 * otherwise be two runs computing the same thing. What the config schema says a key holds decides
 * the spelling: a number key takes numeric strings as numbers, a threshold-policy key takes the
 * policy parser's canonical form. Levels that then read the same are merged (the first kept).
 */
import { z } from 'zod';
import { canonicalThresholdPolicy } from '../../config/threshold-policy.js';
import { configSchema } from '../../methods/registry.js';

/** Keys whose values are threshold-policy strings (validated by parseThresholdPolicy in the schema). */
const POLICY_KEYS = new Set(['fewshot.threshold']);

/** A level dropped because it reads as an earlier one once normalised. */
export interface MergedLevel {
  factor: string;
  /** The level as written in the spec. */
  value: string;
  /** The level it was merged into, as kept. */
  into: string;
}

/** The schema of a dotted config key, wrappers (default, optional, refinements) removed; undefined when unknown. */
export function schemaOfKey(key: string): z.ZodTypeAny | undefined {
  let s: z.ZodTypeAny | undefined = configSchema;
  for (const part of key.split('.')) {
    s = unwrap(s);
    if (!(s instanceof z.ZodObject)) return undefined;
    const shape = s.shape as Record<string, z.ZodTypeAny>;
    if (!Object.prototype.hasOwnProperty.call(shape, part)) return undefined;
    s = shape[part];
  }
  return unwrap(s);
}

function unwrap(s: z.ZodTypeAny | undefined): z.ZodTypeAny | undefined {
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

/** One value of a key in its one spelling; a value the schema would refuse is left for it to refuse. */
export function normaliseValue(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const schema = schemaOfKey(key);
  if (schema instanceof z.ZodNumber) {
    const text = value.trim();
    const n = Number(text);
    return text !== '' && Number.isFinite(n) ? n : value;
  }
  if (POLICY_KEYS.has(key)) {
    try {
      return canonicalThresholdPolicy(value);
    } catch {
      return value;
    }
  }
  return value;
}

const show = (level: unknown[]) => level.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' + ');

/**
 * The factor with every level normalised and the levels that read as an earlier one removed.
 * Levels that were written identically are not merged here: listing a value twice is a mistake
 * the spec reports.
 */
export function normaliseFactor<F extends { name: string; keys: string[]; levels: unknown[][] }>(f: F): { factor: F; merged: MergedLevel[] } {
  const kept = new Map<string, { level: unknown[]; written: string }>();
  const merged: MergedLevel[] = [];
  const levels: unknown[][] = [];
  for (const level of f.levels) {
    const norm = level.map((v, i) => normaliseValue(f.keys[i], v));
    const text = JSON.stringify(norm);
    const written = JSON.stringify(level);
    const earlier = kept.get(text);
    if (earlier && earlier.written !== written) {
      merged.push({ factor: f.name, value: show(level), into: show(earlier.level) });
      continue;
    }
    if (!earlier) kept.set(text, { level: norm, written });
    levels.push(norm);
  }
  return { factor: { ...f, levels }, merged };
}
