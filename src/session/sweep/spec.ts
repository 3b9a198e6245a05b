/**
 * The sweep spec file (YAML or JSON): a base config, the datasets, and the factors that vary.
 *
 *   name: mpdd-thresholds           # optional; default: the file's name without extension
 *   base:                           # what every run starts from (layers as `iapas run`)
 *     preset: fewshot
 *     config: base.yaml             # optional config file
 *     set: { references.k: 4 }      # dotted keys as --set (or a list of "key=value")
 *   datasets:
 *     - ../datasets/mpdd                          # a dataset root
 *     - { path: ../datasets/mvtec_ad, categories: [grid], limit: 10, name: mvtec }
 *   grid:                           # dotted config key -> values: their cartesian product
 *     fewshot.threshold: [adaptive, "adaptive:0.99", "fixed:0.3"]
 *   zip:                            # groups of keys varied together (one factor per group)
 *     - { detector.box_threshold: [0.1, 0.2], detector.text_threshold: [0.1, 0.25] }
 *   seeds: [111, 112]               # values of `seed`, one more factor
 *   metric: pixel_f1_max            # what the summary ranks by
 *   out: runs/sweep-mpdd            # the sweep directory
 *
 * Paths in the spec (datasets, base.config, out) are relative to the spec file's folder; paths
 * inside config values (models_dir, cache_dir) are relative to the working directory, as in a
 * config file given to `iapas run`.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { parseSetFlag, readConfigFile, type Plain } from '../../config/load.js';
import { METRIC_KEYS, type MetricKey } from '../../evaluation/protocol.js';
import { UserError } from '../../util/errors.js';
import { normaliseFactor, type MergedLevel } from './normalise.js';

const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

const values = z.array(z.unknown()).min(1, 'expected a non-empty list of values');

const datasetSchema = z.union([
  z.string().min(1),
  z
    .object({
      path: z.string().min(1),
      name: z.string().regex(LABEL, 'letters, digits, _ . - only').optional(),
      categories: z.array(z.string().min(1)).min(1).optional(),
      limit: z.number().int().positive().optional().describe('at most n test images per category (evenly spaced)'),
    })
    .strict(),
]);

export const sweepSpecSchema = z
  .object({
    name: z.string().regex(LABEL, 'letters, digits, _ . - only').optional(),
    base: z
      .object({
        preset: z.string().min(1).optional(),
        config: z.string().min(1).optional(),
        set: z.union([z.record(z.unknown()), z.array(z.string())]).optional(),
      })
      .strict()
      .default({}),
    datasets: z.array(datasetSchema).min(1, 'at least one dataset'),
    grid: z.record(values).default({}),
    zip: z.array(z.record(values)).default([]),
    seeds: z.array(z.number().int()).min(1).optional(),
    metric: z.enum(METRIC_KEYS).default('pixel_f1_max'),
    out: z.string().min(1).optional(),
  })
  .strict();

export interface SweepDataset {
  /** Unique name in tables and run directories. */
  label: string;
  /** Absolute dataset root. */
  path: string;
  categories?: string[];
  limit?: number;
}

/** One varied quantity: a grid key, a zip group (keys moving together) or the seeds. */
export interface Factor {
  /** As the summary names it: the key, or the zip group's keys joined with '+'. */
  name: string;
  keys: string[];
  /** One tuple of values (one per key) per level. */
  levels: unknown[][];
  origin: 'grid' | 'zip' | 'seeds';
}

export interface SweepSpec {
  name: string;
  /** Absolute path of the spec file. */
  file: string;
  base: {
    preset?: string;
    configFile?: string;
    /** Content of base.config, when given. */
    fileValues?: Plain;
    /** base.set as dotted key -> value. */
    set: Record<string, unknown>;
  };
  datasets: SweepDataset[];
  factors: Factor[];
  metric: MetricKey;
  /** Absolute sweep directory, when the spec names one. */
  out?: string;
  /** Levels dropped because they read as an earlier level of their factor once normalised. */
  merged: MergedLevel[];
}

/** `{a: {b: 1}}` -> `{'a.b': 1}` for keys given as nested objects in `set`. */
function flattenSet(v: Plain, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof x === 'object' && x !== null && !Array.isArray(x) && !k.includes('.')) Object.assign(out, flattenSet(x as Plain, key));
    else out[key] = x;
  }
  return out;
}

/** Keys that would reach an object's prototype when assigned; no spec or config key has these names. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const forbidden = (key: string, where: string) =>
  new UserError(`${where}: key '${key}' is not allowed (it would reach the prototype of every object)`);

/**
 * Refuses prototype keys anywhere in a parsed spec, with one message whatever the file's format:
 * JSON.parse keeps `__proto__` as an own key that the schema would silently drop, YAML may
 * already have replaced an object's prototype with it.
 */
function refuseForbiddenKeys(value: unknown, where: string, path: string[] = []): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => refuseForbiddenKeys(v, where, [...path, String(i)]));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const at = (k: string) => [...path, k].join(' / ');
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw forbidden('__proto__', `${where}, ${path.join(' / ') || '(top level)'}`);
  for (const k of Object.keys(value)) {
    const bad = k.split('.').find((part) => FORBIDDEN_KEYS.has(part));
    if (bad !== undefined) throw forbidden(bad, `${where}, ${at(k)}`);
    refuseForbiddenKeys((value as Plain)[k], where, [...path, k]);
  }
}

function checkKey(key: string, where: string): void {
  const bad = key.split('.').find((part) => FORBIDDEN_KEYS.has(part));
  if (bad !== undefined) throw forbidden(bad, `${where}, '${key}'`);
  if (!KEY.test(key)) throw new UserError(`${where}: '${key}' is not a dotted config key (e.g. detector.box_threshold)`);
  if (key.startsWith('preset.')) throw new UserError(`${where}: '${key}': preset is a name, not a section`);
}

function issueText(e: z.ZodError): string {
  return e.issues
    .map((i) => {
      const path = i.path.join('.') || '(top level)';
      if (i.code === 'unrecognized_keys') return `${path === '(top level)' ? '' : path + ': '}unknown key(s) ${i.keys.map((k) => `'${k}'`).join(', ')}`;
      if (i.code === 'invalid_union') return `${path}: expected a dataset path or { path, name?, categories?, limit? }`;
      return `${path}: ${i.message}`;
    })
    .join('; ');
}

export async function readSweepSpec(path: string): Promise<SweepSpec> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read sweep spec ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new UserError(`sweep spec ${path} is not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseSweepSpec(raw, file);
}

/** Validates a spec's structure and normalises it (paths absolute, factors in spec order). */
export async function parseSweepSpec(raw: unknown, file: string): Promise<SweepSpec> {
  refuseForbiddenKeys(raw, `invalid sweep spec ${file}`);
  const r = sweepSpecSchema.safeParse(raw ?? {});
  if (!r.success) throw new UserError(`invalid sweep spec ${file}: ${issueText(r.error)}`);
  const s = r.data;
  const dir = dirname(file);
  const where = `sweep spec ${file}`;

  let set: Record<string, unknown> = {};
  if (Array.isArray(s.base.set)) for (const e of s.base.set) set = { ...set, ...flattenSet(parseSetFlag(e)) };
  else if (s.base.set) set = flattenSet(s.base.set as Plain);
  for (const k of Object.keys(set)) checkKey(k, `${where}, base.set`);
  const configFile = s.base.config ? resolve(dir, s.base.config) : undefined;
  const fileValues = configFile ? await readConfigFile(configFile) : undefined;

  const datasets: SweepDataset[] = s.datasets.map((d) => {
    const o = typeof d === 'string' ? { path: d } : d;
    const path = resolve(dir, o.path);
    const label = o.name ?? basename(path).replace(/[^A-Za-z0-9_.-]/g, '_');
    return { label, path, categories: o.categories, limit: o.limit };
  });
  const labels = new Set<string>();
  for (const d of datasets) {
    if (labels.has(d.label)) throw new UserError(`${where}: two datasets are named '${d.label}'; give one a name (datasets: - { path: ..., name: ... })`);
    labels.add(d.label);
  }

  const factors: Factor[] = [];
  const seen = new Map<string, string>();
  const claim = (key: string, origin: string) => {
    checkKey(key, `${where}, ${origin}`);
    for (const [other, o] of seen) {
      if (other === key || other.startsWith(key + '.') || key.startsWith(other + '.')) {
        throw new UserError(`${where}: '${key}' (${origin}) overlaps '${other}' (${o}); vary each key in one place`);
      }
    }
    seen.set(key, origin);
  };
  for (const [key, vals] of Object.entries(s.grid)) {
    claim(key, 'grid');
    factors.push({ name: key, keys: [key], levels: vals.map((v) => [v]), origin: 'grid' });
  }
  s.zip.forEach((group, gi) => {
    const keys = Object.keys(group);
    if (keys.length < 2) throw new UserError(`${where}: zip[${gi}] has ${keys.length} key; a zip group varies two or more keys together (one key belongs in grid)`);
    const n = group[keys[0]].length;
    for (const k of keys) {
      claim(k, `zip[${gi}]`);
      if (group[k].length !== n) throw new UserError(`${where}: zip[${gi}]: ${keys[0]} has ${n} values but ${k} has ${group[k].length}; zipped keys need as many values each`);
    }
    factors.push({ name: keys.join('+'), keys, levels: Array.from({ length: n }, (_, i) => keys.map((k) => group[k][i])), origin: 'zip' });
  });
  if (s.seeds) {
    claim('seed', 'seeds');
    factors.push({ name: 'seed', keys: ['seed'], levels: s.seeds.map((v) => [v]), origin: 'seeds' });
  }
  const merged: MergedLevel[] = [];
  factors.forEach((f, i) => {
    const n = normaliseFactor(f);
    factors[i] = n.factor;
    merged.push(...n.merged);
  });
  for (const f of factors) {
    const texts = f.levels.map((l) => JSON.stringify(l));
    const dup = texts.find((t, i) => texts.indexOf(t) !== i);
    if (dup) throw new UserError(`${where}: ${f.origin} ${f.name} lists the value ${dup.slice(1, -1)} twice`);
  }

  return {
    name: s.name ?? basename(file, extname(file)).replace(/[^A-Za-z0-9_.-]/g, '_'),
    file,
    base: { preset: s.base.preset, configFile, fileValues, set },
    datasets,
    factors,
    metric: s.metric,
    out: s.out ? resolve(dir, s.out) : undefined,
    merged,
  };
}

/**
 * What a spec asks for, independent of where it is run from and of how results are shown (name,
 * metric, out): resuming a sweep is refused when this differs. Keyed by names (datasets by label,
 * factors by key) so that a difference reads as the key that changed.
 */
export function specIdentity(spec: SweepSpec): Plain {
  return {
    base: { preset: spec.base.preset ?? null, config: spec.base.fileValues ?? null, set: spec.base.set },
    datasets: Object.fromEntries(spec.datasets.map((d) => [d.label, { path: d.path, categories: d.categories ?? null, limit: d.limit ?? null }])),
    varied: Object.fromEntries(spec.factors.map((f) => [f.name, { from: f.origin, values: f.origin === 'zip' ? f.levels : f.levels.map((l) => l[0]) }])),
    order: spec.factors.map((f) => f.name),
  };
}
