/**
 * Few-shot anomaly maps as SAM prompts (preset `fewshot`).
 *
 * Per category (prepareFewshotCategory): features of k normal references -> memory bank, plus
 * the references' leave-one-out scores for the adaptive threshold.
 * Per image (runFewshot):
 *   1. map = cosine distance of each query patch to its nearest reference patch, upsampled
 *      (bilinear) and Gaussian-smoothed (src/fewshot/score-map.ts);
 *   2. binary = map > threshold (policy: fixed, otsu, adaptive; optionally cut per region at a
 *      fraction of its peak; src/fewshot/threshold.ts);
 *   3. prompts = one box + peak point per connected component above a minimum area;
 *   4. SAM decodes each prompt; a mask is clipped to its box grown by `maskMargin`; an empty mask
 *      falls back to its component;
 *   5. final map = map * (1 + boost * union of masks) (src/fewshot/combine.ts), binary mask = that
 *      union (or the thresholded map when SAM is off).
 */
import type { Backbone } from '../../models/backbones/types.js';
import { clipMaskToBox, maskArea, unionMask } from '../../image/masks.js';
import type { RgbImage } from '../../image/types.js';
import type { SamModel } from '../../models/sam/model.js';
import { regionPrompts, type RegionPrompt, type RegionPromptOptions } from '../../models/sam/region-prompts.js';
import { combineMapWithMasks } from './combine.js';
import { categoryThreshold, prepareMemoryBank, scoreQuery, type MemoryBank } from './memory-bank.js';

export type PromptOptions = Pick<RegionPromptOptions, 'minArea' | 'minAreaFraction' | 'maxPrompts'>;
import type { MapOptions } from '../components/score-map.js';
import { binariseWithPolicy, describeThresholdPolicy, type ThresholdPolicy } from '../components/threshold.js';

export interface FewshotOptions {
  threshold: ThresholdPolicy;
  map: MapOptions;
  prompts: PromptOptions;
  /** Refine prompts with SAM (needs a SamModel); off = the thresholded feature map is the mask. */
  useSam: boolean;
  /** SAM masks are clipped to their prompt box grown by this fraction of its size on each side. */
  maskMargin: number;
  /** Weight of the SAM masks in the final map (see combine.ts). */
  boost: number;
}

export const DEFAULT_FEWSHOT_OPTIONS: FewshotOptions = {
  threshold: { kind: 'adaptive' },
  map: {},
  prompts: { minAreaFraction: 0.0005, maxPrompts: 8 },
  useSam: true,
  maskMargin: 0.1,
  boost: 1,
};

export function fewshotOptions(partial: Partial<FewshotOptions> = {}): FewshotOptions {
  return {
    ...DEFAULT_FEWSHOT_OPTIONS,
    ...partial,
    prompts: { ...DEFAULT_FEWSHOT_OPTIONS.prompts, ...partial.prompts },
    map: { ...DEFAULT_FEWSHOT_OPTIONS.map, ...partial.map },
  };
}

export interface FewshotCategory {
  bank: MemoryBank;
  /** The adaptive policy's threshold, or null when the policy is not adaptive. */
  categoryThreshold: number | null;
}

export interface FewshotMask {
  prompt: RegionPrompt;
  /** 0/1 at image size, after clipping. */
  mask: Uint8Array;
  /** SAM's predicted IoU; null when the component itself stood in for an empty SAM mask. */
  iou: number | null;
}

export interface FewshotResult {
  width: number;
  height: number;
  /** Final anomaly map (feature map combined with SAM masks). */
  map: Float32Array;
  /** The feature-distance map alone. */
  featureMap: Float32Array;
  threshold: number;
  thresholdPolicy: string;
  /** Predicted binary mask (0/1). */
  mask: Uint8Array;
  prompts: RegionPrompt[];
  masks: FewshotMask[];
}

/** Per category: memory bank from normal references, and the adaptive threshold when used. */
export async function prepareFewshotCategory(backbone: Backbone, references: RgbImage[], options: FewshotOptions = DEFAULT_FEWSHOT_OPTIONS): Promise<FewshotCategory> {
  const bank = await prepareMemoryBank(backbone, references, options.map);
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
  category: FewshotCategory,
  ctx: { sam?: SamModel },
  options: FewshotOptions = DEFAULT_FEWSHOT_OPTIONS,
): Promise<FewshotResult> {
  const { width, height } = image;
  const { threshold, mask: binary } = binariseWithPolicy(featureMap, width, height, options.threshold, category.categoryThreshold ?? undefined);
  const prompts = regionPrompts(binary, width, height, { ...options.prompts, point: 'peak', map: featureMap });
  const masks: FewshotMask[] = [];
  const componentMask = (i: number): Uint8Array => {
    // The thresholded pixels inside prompt i's box stand in for its region.
    return clipMaskToBox(binary, width, height, prompts[i].box);
  };
  if (options.useSam && prompts.length > 0) {
    if (!ctx.sam) throw new Error('few-shot: useSam is set but no SamModel was given');
    const embedding = await ctx.sam.encode(image);
    const results = await ctx.sam.decode(
      embedding,
      prompts.map((p) => ({ box: p.box, points: p.points, labels: [1] })),
    );
    results.forEach((r, i) => {
      const clipped = clipMaskToBox(r.mask, width, height, prompts[i].box, options.maskMargin);
      if (maskArea(clipped) > 0) masks.push({ prompt: prompts[i], mask: clipped, iou: r.iou });
      else masks.push({ prompt: prompts[i], mask: componentMask(i), iou: null });
    });
  } else {
    prompts.forEach((p, i) => masks.push({ prompt: p, mask: componentMask(i), iou: null }));
  }
  const union = masks.length > 0 ? unionMask(masks.map((m) => m.mask), width * height) : new Uint8Array(width * height);
  const map = combineMapWithMasks(featureMap, masks.length > 0 ? union : null, options.boost);
  return { width, height, map, featureMap, threshold, thresholdPolicy: describeThresholdPolicy(options.threshold), mask: union, prompts, masks };
}
