/**
 * What a method is to the framework: its config sections, its presets, the model passes a run of
 * it makes and its builder. Each method folder (src/methods/<method>/method.ts) exports one
 * `MethodDefinition`; src/methods/registry.ts lists them and composes the config schema, the
 * preset list and the sweep's model passes from them, so adding a method is one folder and one
 * registry line.
 */
import type { ZodTypeAny } from 'zod';
import type { BaseConfig } from '../config/schema.js';
import type { Plain } from '../config/load.js';
import type { BuildEnv, Pipeline } from './types.js';

export interface PresetInfo {
  name: string;
  description: string;
  /** 'embedded': runs after `npm ci` with no download; 'download': needs weights from `iapas models pull`. */
  weights: 'embedded' | 'download';
  /** Manifest names of the models the preset uses with its defaults. */
  models: string[];
  /** The method (src/methods/<method>/) whose builder turns the config into a pipeline. */
  method: string;
  /** Config values over the schema's defaults. */
  defaults: Plain;
}

/**
 * One model output a run computes, and the config keys that decide it: what a sweep uses to say
 * which passes its runs share (`iapas sweep --dry-run`) and to put runs that share every model
 * output next to each other. Every pass is cached by content (src/util/disk-cache.ts), so across
 * a sweep each output is computed once per distinct (model keys, input); keys that act after the
 * models (thresholds, size filter, normalisation, evaluation) appear in no pass.
 */
export interface ModelPass {
  /** What runs, as the dry run names it; two methods making the same output share the name. */
  name: string;
  /** What one pass is computed for. */
  per: string;
  /** Config keys (dotted; a prefix covers its section) that decide the model and its parameters. */
  keys: string[];
  /** Config keys that decide the pass's input besides the dataset's images (e.g. the caption). */
  inputKeys: string[];
}

/**
 * `C` is the part of the composed config the method reads: the base sections plus its own (and
 * any section it shares with another method through src/methods/components). The registry hands
 * every builder the whole config, which has all of them.
 */
export interface MethodDefinition<C extends BaseConfig = BaseConfig> {
  name: string;
  /** The config sections this method owns, by top-level key, each with every default. */
  sections: Record<string, ZodTypeAny>;
  presets: readonly PresetInfo[];
  /** Every model pass a run of this method can make, in the order the dry run lists them. */
  modelPasses: readonly ModelPass[];
  /** The ones a run with this config makes. */
  activePasses(config: C): readonly ModelPass[];
  /** Loaded on use, so that a command never loads the models code of methods it does not run. */
  build(config: C, env: BuildEnv): Promise<Pipeline>;
}
