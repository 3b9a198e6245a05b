/**
 * IAP-AS's own config keys: how the object tag is found (tagger, RAM's model) and how the
 * caption is written (captioner, template). The detector, LLM and SAM settings are the base
 * schema's, shared with other methods and commands.
 */
import { z } from 'zod';
import type { BaseConfig } from '../../config/schema.js';

export const iapasSections = {
  tagger: z
    .enum(['ram', 'classname', 'fixed', 'none'])
    .default('ram')
    .describe('ram: RAM tags + Grounding DINO; classname: the category name (as SAA+); fixed: object_tag'),
  object_tag: z.string().optional(),
  tagging: z
    .object({
      model: z.string().default('ram-swin-large-14m'),
    })
    .strict()
    .default({}),
  captioner: z.enum(['llm', 'static']).default('llm'),
  caption: z
    .object({
      template: z.string().default('iap-as'),
      static: z.string().default('defect, abnormal'),
    })
    .strict()
    .default({}),
};

const iapasSchema = z.object(iapasSections);
export type IapasSections = z.infer<typeof iapasSchema>;

export type IapasRunConfig = BaseConfig & IapasSections;
