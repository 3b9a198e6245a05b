/**
 * The config keys of turning an anomaly map into SAM-refined masks, shared by every map method
 * (`fewshot`, `mutual`): they live in the `fewshot` config section, which `mutual` reads too, so a
 * threshold or margin means the same in both.
 */
import { z } from 'zod';
import { parseThresholdPolicy } from '../../config/threshold-policy.js';

export const mapSettingsShape = {
  threshold: z
    .string()
    .superRefine((v, ctx) => {
      try {
        parseThresholdPolicy(v);
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
      }
    })
    .default('adaptive')
    .describe('fixed:<v> | otsu[:floor] | adaptive[:quantile[:factor]], optionally +rel<r>'),
  use_sam: z.boolean().default(true).describe('refine the thresholded regions with SAM; off: the thresholded map is the mask'),
  mask_margin: z.number().min(0).default(0.1).describe('SAM masks are clipped to their prompt box grown by this fraction of its size on each side'),
  boost: z.number().min(0).default(1).describe('final map = map * (1 + boost * union of SAM masks)'),
  min_area_fraction: z.number().min(0).max(1).default(0.0005).describe('regions smaller than this fraction of the image give no prompt'),
  max_prompts: z.number().int().min(1).default(8).describe('at most this many regions per image are prompted, highest peak first'),
  work_size: z.number().int().min(16).default(256).describe('longest side of the working map (smoothing happens there)'),
  smooth_sigma: z.number().min(0).default(4 / 256).describe("Gaussian sigma as a fraction of the working map's longest side; 0 = off"),
};

const mapSettingsSchema = z.object(mapSettingsShape);
export type MapSettings = z.infer<typeof mapSettingsSchema>;
export const MAP_SETTINGS_DEFAULTS: MapSettings = mapSettingsSchema.parse({});
