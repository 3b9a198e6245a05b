/**
 * Which model outputs a run computes and which config keys decide them: the data a sweep uses to
 * say which passes its runs share (`iapas sweep --dry-run`) and to put runs that share every
 * model output next to each other. Per method, not per preset: a new preset of an existing method
 * needs nothing here; a new method or model adds its passes.
 *
 * Every pass listed is cached by content (src/util/disk-cache.ts), so across a sweep each output
 * is computed once per distinct (model keys, input); keys that act after the models (thresholds,
 * size filter, normalisation, evaluation) appear in no pass.
 */
import type { Config } from '../config/schema.js';
import { presetInfo, type PresetInfo } from '../config/presets.js';
import { backboneEntry, usesSamEncoder } from '../models/backbones/entries.js';

export interface ModelPass {
  /** What runs, as the dry run names it. */
  name: string;
  /** What one pass is computed for. */
  per: string;
  /** Config keys (dotted; a prefix covers its section) that decide the model and its parameters. */
  keys: string[];
  /** Config keys that decide the pass's input besides the dataset's images (e.g. the caption). */
  inputKeys: string[];
  /** Whether a run with this config makes this pass. */
  active(config: Config, method: PresetInfo['method']): boolean;
}

/** The backbone of a map method's run (fewshot.backbone or mutual.backbone), or null. */
function mapBackbone(c: Config, m: PresetInfo['method']): string | null {
  return m === 'fewshot' ? c.fewshot.backbone : m === 'mutual' ? c.mutual.backbone : null;
}

/** Whether a backbone's features come from the SAM encoder's pass (an unknown name counts as its own model). */
function inSamEncoder(name: string): boolean {
  try {
    return usesSamEncoder(backboneEntry(name));
  } catch {
    return false;
  }
}

/** The keys that decide the object tag and the caption of a category (stage A of iap-as). */
const CAPTION_INPUTS = ['tagger', 'object_tag', 'tagging', 'references', 'seed', 'captioner', 'caption', 'llm'];

export const MODEL_PASSES: readonly ModelPass[] = [
  {
    name: 'SAM encoder',
    per: 'image',
    keys: ['sam.model'],
    inputKeys: [],
    // minisam-ms and minisam-ms64 are tensors of this pass (their grids are cached under 'features').
    active: (c, m) => m === 'iapas' || ((m === 'fewshot' || m === 'mutual') && (c.fewshot.use_sam || inSamEncoder(mapBackbone(c, m)!))),
  },
  {
    name: 'backbone feature',
    per: 'image',
    keys: ['fewshot.backbone', 'mutual.backbone'],
    inputKeys: [],
    active: (c, m) => (m === 'fewshot' || m === 'mutual') && !inSamEncoder(mapBackbone(c, m)!),
  },
  {
    name: 'few-shot anomaly map',
    per: 'image',
    keys: ['fewshot.backbone', 'sam.model', 'fewshot.work_size', 'fewshot.smooth_sigma', 'fewshot.coreset', 'fewshot.coreset_min_rows', 'fewshot.coreset_scope', 'fewshot.search_int8', 'fewshot.pca', 'fewshot.augment'],
    inputKeys: ['references', 'seed'],
    active: (_c, m) => m === 'fewshot',
  },
  {
    name: 'RAM tagging',
    per: 'reference image',
    keys: ['tagging.model'],
    inputKeys: [],
    active: (c, m) => m === 'iapas' && c.tagger === 'ram',
  },
  {
    name: 'LLM answer',
    per: 'category',
    keys: ['llm', 'caption.template'],
    inputKeys: ['tagger', 'object_tag', 'tagging', 'references', 'seed', 'detector.model'],
    active: (c, m) => m === 'iapas' && c.captioner === 'llm',
  },
  {
    name: 'Grounding DINO',
    per: 'image and caption',
    keys: ['detector.model'],
    inputKeys: CAPTION_INPUTS,
    active: (_c, m) => m === 'iapas',
  },
  {
    name: 'SAM decoder',
    per: 'distinct prompt (box or region)',
    keys: ['sam.model'],
    inputKeys: [],
    active: (c, m) => m === 'iapas' || ((m === 'fewshot' || m === 'mutual') && c.fewshot.use_sam),
  },
];

export function methodOf(config: Config): PresetInfo['method'] {
  return presetInfo(config.preset).method;
}

/** Whether a dotted key lies under (or is) one of the prefixes. */
export function keyUnder(key: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => key === p || key.startsWith(p + '.'));
}
