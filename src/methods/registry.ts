/**
 * The methods, one line each. Everything the rest of the toolkit knows about methods is composed
 * here from their definitions (src/methods/<method>/method.ts): the config schema (the base keys
 * plus each method's sections), the preset list, each preset's builder, and the model passes a
 * sweep uses. A new method is a folder with a `method.ts` and one line in METHODS.
 */
import type { z } from 'zod';
import { mergeConfigLayers, type ConfigLayers } from '../config/load.js';
import { composeConfigSchema, formatZodError } from '../config/schema.js';
import type { MethodDefinition, ModelPass, PresetInfo } from '../pipeline/method.js';
import type { BuildEnv, Pipeline } from '../pipeline/types.js';
import { UserError } from '../util/errors.js';
import { fewshotMethod } from './fewshot/method.js';
import { iapasMethod } from './iapas/method.js';
import { mutualMethod } from './mutual/method.js';
import { saaPlusMethod } from './saa-plus/method.js';

/** The methods. Adding one: its folder, its import above, its entry here. */
const DEFINITIONS = [iapasMethod, fewshotMethod, mutualMethod, saaPlusMethod] as const;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type MethodSections = UnionToIntersection<(typeof DEFINITIONS)[number]['sections']>;

checkSections(DEFINITIONS);
export const configSchema = composeConfigSchema(Object.assign({}, ...DEFINITIONS.map((d) => d.sections)) as MethodSections);
export type Config = z.infer<typeof configSchema>;

// Each method reads the base keys and its own sections; the composed config has them all.
export const METHODS: ReadonlyArray<MethodDefinition<Config>> = DEFINITIONS;

/** Two methods claiming one section (or a base key) would silently share or shadow it. */
export function checkSections(methods: ReadonlyArray<Pick<MethodDefinition<never>, 'name' | 'sections' | 'presets'>>): void {
  const owner = new Map<string, string>(Object.keys(composeConfigSchema({}).shape).map((k) => [k, 'the base schema']));
  const presets = new Map<string, string>();
  for (const m of methods) {
    for (const key of Object.keys(m.sections)) {
      const o = owner.get(key);
      if (o) throw new Error(`config section '${key}' of method '${m.name}' is already ${o === 'the base schema' ? 'a base key' : `method '${o}''s`}`);
      owner.set(key, m.name);
    }
    for (const p of m.presets) {
      if (p.method !== m.name) throw new Error(`preset '${p.name}' is listed by method '${m.name}' but names method '${p.method}'`);
      const o = presets.get(p.name);
      if (o) throw new Error(`preset '${p.name}' is defined by methods '${o}' and '${m.name}'`);
      presets.set(p.name, m.name);
    }
  }
}

/** Every schema default (the preset's own defaults come on top): what help texts print. */
export const CONFIG_DEFAULTS: Config = configSchema.parse({ preset: '(none)' });

export const PRESETS: readonly PresetInfo[] = METHODS.flatMap((m) => m.presets);
export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

export function presetInfo(name: string): PresetInfo {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) throw new UserError(`unknown preset '${name}'; presets: ${PRESET_NAMES.join(', ')}`);
  return p;
}

function methodNamed(name: string): MethodDefinition<Config> {
  const m = METHODS.find((x) => x.name === name);
  if (!m) throw new Error(`preset data names method '${name}', which is not registered`);
  return m;
}

export interface Preset extends PresetInfo {
  build(config: Config, env: BuildEnv): Promise<Pipeline>;
}

export function getPreset(name: string): Preset {
  const info = presetInfo(name);
  const method = methodNamed(info.method);
  return { ...info, build: (config, env) => method.build(config, env) };
}

/** The method of a config's preset. */
export function methodOf(config: Config): string {
  return presetInfo(config.preset).method;
}

/** The model passes a run with this config makes. */
export function activePasses(config: Config): readonly ModelPass[] {
  return methodNamed(methodOf(config)).activePasses(config);
}

/**
 * Every pass any method makes, once per name, in the methods' own orders merged (a pass first
 * seen in a later method goes right after the pass before it in that method's list).
 */
export const MODEL_PASSES: readonly ModelPass[] = (() => {
  const out: ModelPass[] = [];
  for (const m of METHODS) {
    let at = 0;
    for (const p of m.modelPasses) {
      const i = out.findIndex((q) => q.name === p.name);
      if (i >= 0) at = i + 1;
      else out.splice(at++, 0, p);
    }
  }
  return out;
})();

/** Whether a dotted key lies under (or is) one of the prefixes. */
export function keyUnder(key: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => key === p || key.startsWith(p + '.'));
}

export function validateConfig(value: unknown, source: string): Config {
  const r = configSchema.safeParse(value);
  if (!r.success) throw new UserError(formatZodError(r.error, source));
  return r.data;
}

/** Schema defaults < preset defaults < config file < flags, validated against the composed schema. */
export function buildConfig(preset: string, layers: ConfigLayers): Config {
  return validateConfig(mergeConfigLayers(preset, layers), layers.fileName ? `${layers.fileName} + flags` : 'flags');
}
