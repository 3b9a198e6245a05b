/**
 * Few-shot anomaly maps as SAM prompts (presets `fewshot`, `fewshot-cnn`).
 *
 * Per category (prepareFewshotCategory): features of k normal references -> memory bank, plus
 * the references' leave-one-out scores for the adaptive threshold.
 * Per image (runFewshot = scoreQuery + refineWithSam):
 *   1. map = cosine distance of each query patch to its nearest reference patch, upsampled
 *      (bilinear) and Gaussian-smoothed (methods/components/score-map.ts);
 *   2. binary = map > threshold (policy: fixed, otsu, adaptive; optionally cut per region at a
 *      fraction of its peak; methods/components/threshold.ts);
 *   3. prompts = one box + peak point per connected region above a minimum area
 *      (models/sam/region-prompts.ts);
 *   4. SAM decodes each prompt through the refinement policy (config `sam.refine`, `sam.multimask`;
 *      models/sam/refine.ts; the anomaly map is its map); a mask is clipped to its box grown by
 *      `maskMargin`; an empty mask falls back to its region;
 *   5. final map = map * (1 + boost * union of masks) (combine.ts).
 */
import type { FewshotConfig, SamConfig } from '../../config/schema.js';
import { CONFIG_DEFAULTS, FEWSHOT_DEFAULTS } from '../../config/schema.js';
import { clipMaskToBox, maskArea, unionMask } from '../../image/masks.js';
import type { RgbImage } from '../../image/types.js';
import type { Backbone } from '../../models/backbones/types.js';
import type { SamModel } from '../../models/sam/model.js';
import { regionPrompts, type RegionPromptOptions } from '../../models/sam/region-prompts.js';
import { isPlainPolicy, refineMasks, refinePolicyFrom, refinePolicyName, type RefinePolicy } from '../../models/sam/refine.js';
import type { MapRefinement, RefinedRegion } from '../../stages/map-refine.js';
import { UserError } from '../../util/errors.js';
import { singleReferenceStandIns, type AugmentMode, type SingleReferenceMode } from './augment.js';
import type { MapOptions } from '../components/score-map.js';
import { binariseWithPolicy, describeThresholdPolicy, parseThresholdPolicy, type ThresholdPolicy } from '../components/threshold.js';
import type { DiskCache } from '../../util/disk-cache.js';
import { combineMapWithMasks } from './combine.js';
import { categoryThreshold, prepareMemoryBank, scoreQuery, type BankOptions, type CoresetSettings, type MemoryBank } from './memory-bank.js';
import { samPromptMasks } from './sam-masks.js';

/**
 * The coreset selects on a random projection to this many dims (PatchCore projects too): the
 * selection is O(kept x rows x dims), and 64 dims kept the research's maps unchanged.
 */
const CORESET_PROJECTION = 64;

export type RegionOptions = Pick<RegionPromptOptions, 'minArea' | 'minAreaFraction' | 'maxPrompts'>;

export interface FewshotOptions {
  threshold: ThresholdPolicy;
  map: MapOptions;
  regions: RegionOptions;
  /** Refine prompts with SAM (needs a SamModel); off = the thresholded feature map is the mask. */
  useSam: boolean;
  /** SAM masks are clipped to their prompt box grown by this fraction of its size on each side. */
  maskMargin: number;
  /** Weight of the SAM masks in the final map (see combine.ts). */
  boost: number;
  /** Coreset reduction of large memory banks (memory-bank.ts). */
  coreset: CoresetSettings;
  /** PCA dims of the feature scales; 0 = off. */
  pca: number;
  /** Search multi-scale banks as int8 products (config fewshot.search_int8). */
  int8: boolean;
  /** Copies of each reference in its bank (config fewshot.augment). */
  augment: AugmentMode;
  /** Stand-ins for the missing references at k = 1 (config fewshot.single_reference). */
  singleReference: SingleReferenceMode;
  /** How each prompt is decoded (config `sam.refine`, `sam.multimask`, ...). */
  refine: RefinePolicy;
}

/** The options of a config's `fewshot` and `sam` sections (every default is the schema's). */
export function fewshotOptionsFrom(f: FewshotConfig, sam: SamConfig = CONFIG_DEFAULTS.sam): FewshotOptions {
  let threshold: ThresholdPolicy;
  try {
    threshold = parseThresholdPolicy(f.threshold);
  } catch (err) {
    throw new UserError(`fewshot.threshold: ${(err as Error).message}`);
  }
  return {
    threshold,
    useSam: f.use_sam,
    maskMargin: f.mask_margin,
    boost: f.boost,
    refine: refinePolicyFrom(sam),
    regions: { minAreaFraction: f.min_area_fraction, maxPrompts: f.max_prompts },
    map: { workSize: f.work_size, smoothSigma: f.smooth_sigma },
    coreset: { fraction: f.coreset, minRows: f.coreset_min_rows, scope: f.coreset_scope, projection: CORESET_PROJECTION, seed: 0 },
    pca: f.pca,
    int8: f.search_int8,
    augment: f.augment,
    singleReference: f.single_reference,
  };
}

export const DEFAULT_FEWSHOT_OPTIONS: FewshotOptions = fewshotOptionsFrom(FEWSHOT_DEFAULTS);

export function fewshotOptions(partial: Partial<FewshotOptions> = {}): FewshotOptions {
  return {
    ...DEFAULT_FEWSHOT_OPTIONS,
    ...partial,
    regions: { ...DEFAULT_FEWSHOT_OPTIONS.regions, ...partial.regions },
    map: { ...DEFAULT_FEWSHOT_OPTIONS.map, ...partial.map },
    coreset: { ...DEFAULT_FEWSHOT_OPTIONS.coreset, ...partial.coreset },
  };
}

export interface FewshotCategory {
  bank: MemoryBank;
  /** The adaptive policy's threshold, or null when the policy is not adaptive. */
  categoryThreshold: number | null;
}

export interface FewshotResult extends MapRefinement {
  width: number;
  height: number;
  /** The feature-distance map alone. */
  featureMap: Float32Array;
  /** Predicted binary mask (0/1): the union of the regions' masks. */
  mask: Uint8Array;
}

/** Per category: memory bank from normal references, and the adaptive threshold when used. */
export async function prepareFewshotCategory(
  backbone: Backbone,
  references: RgbImage[],
  options: FewshotOptions = DEFAULT_FEWSHOT_OPTIONS,
  env: Pick<BankOptions, 'cache' | 'time'> = {},
): Promise<FewshotCategory> {
  return fewshotCategoryFromBank(await prepareMemoryBank(backbone, references, { ...env, map: options.map, coreset: options.coreset, pca: options.pca, int8: options.int8, single: singleReferenceStandIns(options.singleReference) }), options);
}

/** The per-category state from a memory bank (which does not depend on the threshold policy). */
export function fewshotCategoryFromBank(bank: MemoryBank, options: FewshotOptions = DEFAULT_FEWSHOT_OPTIONS): FewshotCategory {
  const p = options.threshold;
  return { bank, categoryThreshold: p.kind === 'adaptive' ? categoryThreshold(bank, p) : null };
}

/** Per image: anomaly map, threshold, prompts, SAM masks, final map. */
export async function runFewshot(
  image: RgbImage,
  category: FewshotCategory,
  ctx: { backbone: Backbone; sam?: SamModel },
  options: FewshotOptions = DEFAULT_FEWSHOT_OPTIONS,
): Promise<FewshotResult> {
  const featureMap = await scoreQuery(ctx.backbone, category.bank, image);
  return refineWithSam(image, featureMap, category, ctx, options);
}

/** Steps 2-5 on an existing feature map (also used by sweeps that vary only the threshold). */
export async function refineWithSam(
  image: RgbImage,
  featureMap: Float32Array,
  category: Pick<FewshotCategory, 'categoryThreshold'>,
  ctx: { sam?: SamModel; cache?: DiskCache },
  options: FewshotOptions = DEFAULT_FEWSHOT_OPTIONS,
): Promise<FewshotResult> {
  const { width, height } = image;
  const { threshold, mask: binary } = binariseWithPolicy(featureMap, width, height, options.threshold, category.categoryThreshold ?? undefined);
  const prompts = regionPrompts(binary, width, height, { ...options.regions, point: 'peak', map: featureMap });
  // The thresholded pixels inside a prompt's box stand in for its region.
  const fallback = (i: number): RefinedRegion => ({ ...prompts[i], mask: clipMaskToBox(binary, width, height, prompts[i].box), iou: null });
  const regions: RefinedRegion[] = [];
  let samRefine: FewshotResult['samRefine'];
  if (options.useSam && prompts.length > 0) {
    if (!ctx.sam) throw new Error('few-shot: useSam is set but no SamModel was given');
    const samPrompts = prompts.map((p) => ({ box: p.box, points: p.points }));
    let results: Array<{ mask: Uint8Array; iou: number }>;
    if (isPlainPolicy(options.refine)) {
      // One decode per prompt: the masks go through the model-output cache (sam-masks.ts).
      results = await samPromptMasks(ctx.sam, image, samPrompts, ctx.cache);
    } else {
      // A refinement policy reads the feature map and feeds masks back: decoded every time.
      const refined = await refineMasks(ctx.sam, await ctx.sam.encode(image), samPrompts, options.refine, { map: featureMap });
      samRefine = { policy: refinePolicyName(options.refine), decoderCalls: refined.reduce((n, r) => n + r.decoderCalls, 0) };
      results = refined;
    }
    results.forEach((r, i) => {
      const clipped = clipMaskToBox(r.mask, width, height, prompts[i].box, options.maskMargin);
      regions.push(maskArea(clipped) > 0 ? { ...prompts[i], mask: clipped, iou: r.iou } : fallback(i));
    });
  } else {
    prompts.forEach((_, i) => regions.push(fallback(i)));
  }
  const union = unionMask(regions.map((g) => g.mask), width * height);
  const map = combineMapWithMasks(featureMap, regions.length > 0 ? union : null, options.boost);
  return { width, height, map, featureMap, threshold, thresholdPolicy: describeThresholdPolicy(options.threshold), mask: union, regions, samRefine };
}
