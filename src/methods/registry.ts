/**
 * Preset name -> the builder of its method. The preset's data (description, models, defaults)
 * is in src/config/presets.ts; a builder turns an effective config into a pipeline, a list of
 * src/stages steps. A new method is a folder under src/methods with a `build.ts`, one entry in
 * BUILDERS and its presets in config/presets.ts.
 */
import type { Config } from '../config/schema.js';
import { presetInfo, type PresetInfo } from '../config/presets.js';
import type { BuildEnv, Pipeline } from '../pipeline/types.js';

type Builder = (config: Config, env: BuildEnv) => Promise<Pipeline>;

// Loaded on use, so that a command never loads the models code of methods it does not run.
const BUILDERS: Record<PresetInfo['method'], Builder> = {
  iapas: async (config, env) => (await import('./iapas/build.js')).buildIapas(config, env),
  fewshot: async (config, env) => (await import('./fewshot/build.js')).buildFewshot(config, env),
  mutual: async (config, env) => (await import('./mutual/build.js')).buildMutual(config, env),
  'saa-plus': async (config, env) => (await import('./saa-plus/build.js')).buildSaaPlus(config, env),
};

export interface Preset extends PresetInfo {
  build: Builder;
}

export function getPreset(name: string): Preset {
  const info = presetInfo(name);
  return { ...info, build: BUILDERS[info.method] };
}
