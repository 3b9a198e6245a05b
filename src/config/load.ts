/**
 * Building the effective config: schema defaults < preset defaults < config file < CLI flags.
 * Validation against the composed schema is src/methods/registry.ts's.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import YAML from 'yaml';
import { UserError } from '../util/errors.js';

export type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys that would reach an object's prototype when assigned; no config key has these names. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Refuses keys that could reach Object.prototype (`__proto__`, `constructor`, `prototype`) and
 * objects whose prototype a parser has already replaced, anywhere in a config value.
 */
export function checkConfigKeys(value: unknown, source: string, path: string[] = []): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkConfigKeys(v, source, [...path, String(i)]));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new UserError(`invalid config (${source}): ${path.join('.') || '(root)'}: '__proto__' is not allowed`);
  for (const k of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(k)) throw new UserError(`invalid config (${source}): ${[...path, k].join('.')}: key '${k}' is not allowed`);
    checkConfigKeys((value as Plain)[k], source, [...path, k]);
  }
}

/** Later layers win; objects merge key by key, arrays and scalars are replaced. */
export function deepMerge(...layers: Array<Plain | undefined>): Plain {
  const out: Plain = {};
  for (const layer of layers) {
    if (!layer) continue;
    checkConfigKeys(layer, 'merge');
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as Plain, v) : v;
    }
  }
  return out;
}

export async function readConfigFile(path: string): Promise<Plain> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new UserError(`config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (value == null) return {};
  if (!isPlain(value)) throw new UserError(`config file ${path}: expected a mapping at the top level`);
  checkConfigKeys(value, path);
  return value;
}

/** `a.b.c=value` -> {a:{b:{c:value}}}; the value is parsed as YAML so numbers and booleans keep their type. */
export function parseSetFlag(expr: string): Plain {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new UserError(`--set expects key=value, got '${expr}'`);
  const path = expr.slice(0, eq).trim().split('.');
  const bad = path.find((k) => FORBIDDEN_KEYS.has(k) || k === '');
  if (bad !== undefined) throw new UserError(`--set ${expr}: ${bad === '' ? 'empty key' : `key '${bad}' is not allowed`}`);
  const raw = expr.slice(eq + 1);
  let value: unknown;
  try {
    value = YAML.parse(raw);
  } catch {
    value = raw;
  }
  let obj: Plain = { [path[path.length - 1]]: value ?? raw };
  for (let i = path.length - 2; i >= 0; i--) obj = { [path[i]]: obj };
  checkConfigKeys(obj, `--set ${expr}`);
  return obj;
}

export interface ConfigLayers {
  presetDefaults?: Plain;
  file?: Plain;
  fileName?: string;
  flags?: Plain;
}

/** The merged layers, not yet validated (the methods' registry validates against the composed schema). */
export function mergeConfigLayers(preset: string, layers: ConfigLayers): Plain {
  return deepMerge({ preset }, layers.presetDefaults, layers.file, layers.flags, { preset });
}
