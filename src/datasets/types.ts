/**
 * The one record every dataset loader produces, so that no other code asks which dataset it reads.
 */
export type Label = 'normal' | 'anomalous';
export type Split = 'train' | 'test';

export type LayoutName =
  | 'mvtec' // MVTec AD, MPDD, DTD-Synthetic, and MVTec-layout derivatives
  | 'btad'
  | 'ksdd1'
  | 'ksdd2'
  | 'mtd'
  | 'dagm'
  | 'visa'
  | 'folder';

export interface Sample {
  category: string;
  split: Split;
  /** Absolute path of the image. */
  imagePath: string;
  /** Absolute path of the ground-truth mask, or null (normal images, plain folders). */
  maskPath: string | null;
  label: Label;
  /** Defect type as the dataset names it ('good' for normal images). */
  defectType: string;
  /**
   * Path of the image relative to its category root, without extension, with '/' separators
   * (e.g. 'test/crack/000'). Anomaly maps are named after it: <maps>/<category>/<relId>.npy.
   */
  relId: string;
}

export interface DatasetProblem {
  kind: 'missing-mask' | 'unreadable' | 'orphan-mask' | 'size-mismatch' | 'duplicate-name' | 'other';
  path: string;
  message: string;
}

export interface DatasetIndex {
  layout: LayoutName;
  root: string;
  categories: string[];
  samples: Sample[];
  problems: DatasetProblem[];
}
