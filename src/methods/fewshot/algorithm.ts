/**
 * Few-shot anomaly maps as SAM prompts (presets `fewshot`, `fewshot-cnn`).
 *
 * Per category (prepareFewshotCategory): features of k normal references -> memory bank, plus
 * the references' leave-one-out scores for the adaptive threshold.
 * Per image (build.ts: scoreQuery, then refineWithSam): map = cosine distance of each query patch
 * to its nearest reference patch, upsampled (bilinear) and Gaussian-smoothed
 * (methods/components/score-map.ts); then threshold, prompts, SAM and the final map
 * (methods/components/map-to-masks.ts).
 */
import type { SamConfig } from '../../config/schema.js';
import { CONFIG_BASE_DEFAULTS } from '../../config/schema.js';
import type { RgbImage } from '../../image/types.js';
import type { Backbone } from '../../models/backbones/types.js';
import { mapToMasksOptionsFrom, type MapToMasksOptions } from '../components/map-to-masks.js';
import type { AlignMode } from './alignment.js';
import { singleReferenceStandIns, type AugmentMode, type SingleReferenceMode } from './augment.js';
import { FEWSHOT_DEFAULTS, type FewshotConfig } from './config.js';
import type { ScaleWeighting } from './scale-weights.js';
import { categoryThreshold, prepareMemoryBank, type BankOptions, type CoresetSettings, type MemoryBank } from './memory-bank.js';

/**
 * The coreset selects on a random projection to this many dims (PatchCore projects too): the
 * selection is O(kept x rows x dims), and 64 dims kept the research's maps unchanged.
 */
const CORESET_PROJECTION = 64;

export interface FewshotOptions extends MapToMasksOptions {
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
  /** Stand-ins are made while k <= this (config fewshot.stand_ins_max_k). */
  standInsMaxK: number;
  /** Weights of the scales in the average (config fewshot.scale_weights). */
  weighting: ScaleWeighting;
  /** Test images turned back into the references' pose (config fewshot.align). */
  align: AlignMode;
}

/** The options of a config's `fewshot` and `sam` sections (every default is the schema's). */
export function fewshotOptionsFrom(f: FewshotConfig, sam: SamConfig = CONFIG_BASE_DEFAULTS.sam): FewshotOptions {
  return {
    ...mapToMasksOptionsFrom(f, sam),
    coreset: { fraction: f.coreset, minRows: f.coreset_min_rows, scope: f.coreset_scope, projection: CORESET_PROJECTION, seed: 0 },
    pca: f.pca,
    int8: f.search_int8,
    augment: f.augment,
    singleReference: f.single_reference,
    standInsMaxK: f.stand_ins_max_k,
    weighting: f.scale_weights,
    align: f.align,
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


/** Per category: memory bank from normal references, and the adaptive threshold when used. */
export async function prepareFewshotCategory(
  backbone: Backbone,
  references: RgbImage[],
  options: FewshotOptions = DEFAULT_FEWSHOT_OPTIONS,
  env: Pick<BankOptions, 'cache' | 'time'> = {},
): Promise<FewshotCategory> {
  return fewshotCategoryFromBank(await prepareMemoryBank(backbone, references, { ...env, map: options.map, coreset: options.coreset, pca: options.pca, int8: options.int8, single: singleReferenceStandIns(options.singleReference), standInsMaxK: options.standInsMaxK, weighting: options.weighting }), options);
}

/** The per-category state from a memory bank (which does not depend on the threshold policy). */
export function fewshotCategoryFromBank(bank: MemoryBank, options: FewshotOptions = DEFAULT_FEWSHOT_OPTIONS): FewshotCategory {
  const p = options.threshold;
  return { bank, categoryThreshold: p.kind === 'adaptive' ? categoryThreshold(bank, p) : null };
}
