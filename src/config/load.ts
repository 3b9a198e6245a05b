/**
 * Building the effective config: schema defaults < preset defaults < config file < CLI flags.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import YAML from 'yaml';
import { UserError } from '../util/errors.js';
import { configSchema, formatZodError, type Config } from './schema.js';

export type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Later layers win; objects merge key by key, arrays and scalars are replaced. */
export function deepMerge(...layers: Array<Plain | undefined>): Plain {
  const out: Plain = {};
  for (const layer of layers) {
    if (!layer) continue;
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
  return value;
}

/** `a.b.c=value` -> {a:{b:{c:value}}}; the value is parsed as YAML so numbers and booleans keep their type. */
export function parseSetFlag(expr: string): Plain {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new UserError(`--set expects key=value, got '${expr}'`);
  const path = expr.slice(0, eq).trim().split('.');
  const raw = expr.slice(eq + 1);
  let value: unknown;
  try {
    value = YAML.parse(raw);
  } catch {
    value = raw;
  }
  let obj: Plain = { [path[path.length - 1]]: value ?? raw };
  for (let i = path.length - 2; i >= 0; i--) obj = { [path[i]]: obj };
  return obj;
}

export function validateConfig(value: unknown, source: string): Config {
  const r = configSchema.safeParse(value);
  if (!r.success) throw new UserError(formatZodError(r.error, source));
  return r.data;
}

export interface ConfigLayers {
  presetDefaults?: Plain;
  file?: Plain;
  fileName?: string;
  flags?: Plain;
}

export function buildConfig(preset: string, layers: ConfigLayers): Config {
  const merged = deepMerge({ preset }, layers.presetDefaults, layers.file, layers.flags, { preset });
  return validateConfig(merged, layers.fileName ? `${layers.fileName} + flags` : 'flags');
}
