/**
 * A preset's effective config, built the way every command builds it: the schema's defaults, then
 * the preset's, then a config file, then overrides (a nested object and/or `--set`-style
 * `key=value` strings, applied in that order). Validation errors name the layer that was wrong.
 */
import { deepMerge, parseSetFlag, readConfigFile, type Plain } from '../config/load.js';
import { UserError } from '../util/errors.js';
import { buildConfig, presetInfo, type Config } from '../methods/registry.js';

export interface ConfigRequest {
  /** Preset name (`PRESETS`); default: the file's `preset:`, else `fallbackPreset`. */
  preset?: string;
  /** A YAML or JSON config file. */
  file?: string;
  /** Nested values over the file, e.g. `{ references: { k: 2 } }`. */
  overrides?: Plain;
  /** Dotted `key=value` strings over everything else, as `--set` takes them. */
  set?: readonly string[];
  fallbackPreset?: string;
}

export async function loadConfig(req: ConfigRequest = {}): Promise<Config> {
  const file = req.file ? await readConfigFile(req.file) : undefined;
  const name = req.preset ?? (typeof file?.preset === 'string' ? file.preset : undefined) ?? req.fallbackPreset;
  if (!name) throw new UserError('no preset: pass --preset <name> (`preset` here) or set `preset:` in the config file');
  const preset = presetInfo(name);
  const flags = deepMerge(req.overrides, ...(req.set ?? []).map(parseSetFlag));
  return buildConfig(preset.name, { presetDefaults: preset.defaults, file, fileName: req.file, flags });
}

/** `loadConfig({ preset, set })` for the common case. */
export function loadPreset(preset: string, set: readonly string[] = []): Promise<Config> {
  return loadConfig({ preset, set });
}
