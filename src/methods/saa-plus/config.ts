/** The `saa` config section. */
import { z } from 'zod';
import type { BaseConfig } from '../../config/schema.js';

/** SAA+ (src/methods/saa-plus, docs/method.md §2): text prompts, property prompts, saliency, confidence. */
export const saaSchema = z
  .object({
    phrases: z
      .string()
      .optional()
      .describe('a YAML or JSON phrase file of your own (layout of src/methods/saa-plus/phrases/*.yaml); its categories replace the built-in ones'),
    general: z
      .array(z.string().min(1))
      .default(['defect on {object}', 'damage on {object}', 'flaw on {object}'])
      .describe('prompts asked for every category besides its own phrases; {object} is its object word'),
    object_count: z.number().int().min(1).default(1).describe('N: object boxes must cover less than 1/N of the image'),
    max_area: z.number().gt(0).default(0.9).describe('A: defect boxes must be smaller than A times the largest object box'),
    top_k: z.number().int().min(1).default(5).describe('K: masks kept after rescoring, highest rescored confidence first'),
    backbone: z.string().default('sam').describe('saliency features: sam (SAM encoder embeddings, 64x64 grid) | mobilenetv2'),
    saliency_fraction: z
      .number()
      .gt(0)
      .max(1)
      .default(400 / 4096)
      .describe("a patch's saliency is its mean dissimilarity to this fraction of the image's patches, the most dissimilar (SAA+: 400 of 64x64)"),
    saliency_weight: z.number().min(0).default(3).describe("rescoring: s' = s * exp(weight * mean saliency inside the mask)"),
  })
  .strict()
  .default({});

export type SaaConfig = z.infer<typeof saaSchema>;

export type SaaRunConfig = BaseConfig & { saa: SaaConfig };
