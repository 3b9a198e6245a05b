/**
 * From an anomaly map to SAM-refined masks and the final map, for every map method (`fewshot`,
 * `mutual`):
 *   1. binary = map > threshold (policy: fixed, otsu, adaptive; optionally cut per region at a
 *      fraction of its peak; threshold.ts);
 *   2. prompts = one box + peak point per connected region above a minimum area
 *      (sam-region-prompts.ts);
 *   3. SAM decodes each prompt through the refinement policy (config `sam.refine`, `sam.multimask`;
 *      sam-refine.ts; the anomaly map is its map); a mask is clipped to its box grown by
 *      `maskMargin`; an empty mask falls back to its region;
 *   4. final map = map * (1 + boost * union of masks) (combine.ts).
 */
import type { SamConfig } from '../../config/schema.js';
import { CONFIG_BASE_DEFAULTS } from '../../config/schema.js';
import { clipMaskToBox, maskArea, unionMask } from '../../image/masks.js';
import type { RgbImage } from '../../image/types.js';
import type { SamModel } from '../../models/sam/model.js';
import { regionPrompts, type RegionPromptOptions } from './sam-region-prompts.js';
import { isPlainPolicy, refineMasks, refinePolicyFrom, refinePolicyName, type RefinePolicy } from './sam-refine.js';
import type { MapRefinement, RefinedRegion } from '../../stages/map-refine.js';
import type { DiskCache } from '../../util/disk-cache.js';
import { UserError } from '../../util/errors.js';
import { combineMapWithMasks } from './combine.js';
import type { MapSettings } from './map-settings.js';
import { samPromptMasks } from './sam-masks.js';
import type { MapOptions } from './score-map.js';
import { binariseWithPolicy, describeThresholdPolicy, parseThresholdPolicy, type ThresholdPolicy } from './threshold.js';

export type RegionOptions = Pick<RegionPromptOptions, 'minArea' | 'minAreaFraction' | 'maxPrompts'>;

export interface MapToMasksOptions {
  threshold: ThresholdPolicy;
  map: MapOptions;
  regions: RegionOptions;
  /** Refine prompts with SAM (needs a SamModel); off = the thresholded feature map is the mask. */
  useSam: boolean;
  /** SAM masks are clipped to their prompt box grown by this fraction of its size on each side. */
  maskMargin: number;
  /** Weight of the SAM masks in the final map (see combine.ts). */
  boost: number;
  /** How each prompt is decoded (config `sam.refine`, `sam.multimask`, ...). */
  refine: RefinePolicy;
}

/** The options of a config's map settings (`fewshot` section) and `sam` section. */
export function mapToMasksOptionsFrom(f: MapSettings, sam: SamConfig = CONFIG_BASE_DEFAULTS.sam): MapToMasksOptions {
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
  };
}

export interface MapToMasksResult extends MapRefinement {
  width: number;
  height: number;
  /** The feature-distance map alone. */
  featureMap: Float32Array;
  /** Predicted binary mask (0/1): the union of the regions' masks. */
  mask: Uint8Array;
}

/** Steps 1-4 on an anomaly map (also used by sweeps that vary only the threshold). */
export async function refineWithSam(
  image: RgbImage,
  featureMap: Float32Array,
  category: { categoryThreshold: number | null },
  ctx: { sam?: SamModel; cache?: DiskCache },
  options: MapToMasksOptions,
): Promise<MapToMasksResult> {
  const { width, height } = image;
  const { threshold, mask: binary } = binariseWithPolicy(featureMap, width, height, options.threshold, category.categoryThreshold ?? undefined);
  const prompts = regionPrompts(binary, width, height, { ...options.regions, point: 'peak', map: featureMap });
  // The thresholded pixels inside a prompt's box stand in for its region.
  const fallback = (i: number): RefinedRegion => ({ ...prompts[i], mask: clipMaskToBox(binary, width, height, prompts[i].box), iou: null });
  const regions: RefinedRegion[] = [];
  let samRefine: MapToMasksResult['samRefine'];
  if (options.useSam && prompts.length > 0) {
    if (!ctx.sam) throw new Error('map to masks: useSam is set but no SamModel was given');
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
