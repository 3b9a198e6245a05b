/**
 * What every layout module provides, so that src/datasets/index.ts can detect and load any of them
 * the same way.
 */
import type { DatasetProblem, LayoutName, Sample } from './types.js';

export interface LoadOptions {
  /**
   * Keep anomalous images whose mask is missing (label 'anomalous', maskPath null). By default they
   * are left out of `samples` (pixel metrics cannot use them) and only reported in `problems`.
   */
  includeUnmasked?: boolean;
}

export interface LayoutLoad {
  categories: string[];
  samples: Sample[];
  problems: DatasetProblem[];
}

export interface Layout {
  name: LayoutName;
  /** One line saying what folder structure the layout expects, for error messages and docs. */
  expects: string;
  /** True when `root` looks like this layout (dataset root or a single category). */
  detect(root: string): Promise<boolean>;
  load(root: string, opts: LoadOptions): Promise<LayoutLoad>;
}

export function missingMask(imagePath: string, expected: string): DatasetProblem {
  return {
    kind: 'missing-mask',
    path: imagePath,
    message: `anomalous image has no mask (looked for ${expected})`,
  };
}
