/**
 * The config flags every pipeline command shares, and how they become the effective config.
 */
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { loadConfig } from '../api/index.js';
import { deepMerge, parseSetFlag, type Plain } from '../config/load.js';
import { CONFIG_DEFAULTS as D, type Config, PRESET_NAMES } from '../methods/registry.js';

export interface ConfigFlags {
  preset?: string;
  config?: string;
  set?: string[];
  seed?: string;
  k?: string;
  boxThreshold?: string;
  textThreshold?: string;
  sizeThreshold?: string;
  nms?: string;
  resolution?: string;
  tagger?: string;
  captioner?: string;
  objectTag?: string;
  concurrency?: string;
  modelsDir?: string;
  cacheDir?: string;
  cache?: boolean;
  allowModelMismatch?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addConfigOptions(cmd: Command, opts: { preset?: string } = {}): Command {
  return cmd
    .option('--preset <name>', `${PRESET_NAMES.join(' | ')} (default ${opts.preset ?? 'iap-as'})`)
    .option('--config <file>', 'YAML or JSON config file (flags override it)')
    .option('--set <key=value>', 'set any config value by dotted path, e.g. detector.box_threshold=0.2 (repeatable)', collect)
    .option('--seed <n>', `seed for reference sampling (default ${D.seed})`)
    .option('--k <n>', `number of normal reference images per category (default ${D.references.k}, or the preset's)`)
    .option('--box-threshold <p>', `Grounding DINO box threshold (default ${D.detector.box_threshold})`)
    .option('--text-threshold <p>', `Grounding DINO text threshold (default ${D.detector.text_threshold})`)
    .option('--size-threshold <f>', `keep boxes smaller than object size times this (default ${D.detector.size_threshold})`)
    .option('--nms <iou>', `NMS IoU (default ${D.detector.nms_iou})`)
    .option('--resolution <px>', `evaluation resolution (default ${D.eval.resolution})`)
    .option('--tagger <kind>', 'ram | classname (category name as object tag) | fixed | none')
    .option('--captioner <kind>', 'llm | static (fixed caption)')
    .option('--object-tag <tag>', 'use this object tag (implies --tagger fixed)')
    .option('--concurrency <n>', 'images in flight (default: from the core count)')
    .option('--models-dir <dir>', `where model weights live (default ${D.models_dir}/)`)
    .option('--cache-dir <dir>', 'model-output cache (default $IAPAS_CACHE or .cache/iapas)')
    .option('--no-cache', 'do not read or write the model-output cache')
    .option('--allow-model-mismatch', 'run model files whose sha256 differs from the manifest pin (warns; models.json records the actual hash)');
}

function num(name: string, v: string | undefined, int = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) throw new UserError(`--${name} expects ${int ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
}

export function flagsToConfig(f: ConfigFlags): Plain {
  const flags: Plain = deepMerge(
    {
      seed: num('seed', f.seed, true),
      references: { k: num('k', f.k, true) },
      detector: {
        box_threshold: num('box-threshold', f.boxThreshold),
        text_threshold: num('text-threshold', f.textThreshold),
        size_threshold: num('size-threshold', f.sizeThreshold),
        nms_iou: num('nms', f.nms),
      },
      eval: { resolution: num('resolution', f.resolution, true) },
      tagger: f.objectTag !== undefined && f.tagger === undefined ? 'fixed' : f.tagger,
      object_tag: f.objectTag,
      captioner: f.captioner,
      concurrency: num('concurrency', f.concurrency, true),
      models_dir: f.modelsDir,
      cache_dir: f.cacheDir,
      cache: f.cache === false ? false : undefined,
      allow_model_mismatch: f.allowModelMismatch ? true : undefined,
    },
    ...(f.set ?? []).map(parseSetFlag),
  );
  return prune(flags);
}

function prune(o: Plain): Plain {
  const out: Plain = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const p = prune(v as Plain);
      if (Object.keys(p).length) out[k] = p;
    } else out[k] = v;
  }
  return out;
}

export async function resolveConfig(f: ConfigFlags, fallbackPreset?: string): Promise<Config> {
  return loadConfig({ preset: f.preset, file: f.config, overrides: flagsToConfig(f), fallbackPreset });
}

/** A flag that must be a positive number (or integer): its value, undefined when not given, else a one-line error naming it. */
export function positive(name: string, v: string | undefined, int: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0) || (int && !Number.isInteger(n))) throw new UserError(`--${name} expects a positive ${int ? 'integer' : 'number'}, got '${v}'`);
  return n;
}
