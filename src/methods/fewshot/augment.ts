/**
 * Copies of a reference image for the memory bank (config `fewshot.augment`): objects that lie at
 * any angle on the line (screws, nuts) have normal patches at angles no reference shows. Quarter
 * turns and mirror images are exact pixel permutations; 45-degree turns are interpolated on the
 * same canvas, their corners filled by mirroring the image at its edges.
 */
import { flipHorizontal, rotateQuarter, warpRgb } from '../../image/warp.js';
import type { RgbImage } from '../../image/types.js';

export const AUGMENT_MODES = ['none', 'rot90', 'rot45', 'flip'] as const;
export type AugmentMode = (typeof AUGMENT_MODES)[number];

/** The copies of one reference a mode adds (none for 'none'). */
export function referenceCopies(mode: AugmentMode): ((img: RgbImage) => RgbImage[]) | undefined {
  switch (mode) {
    case 'none':
      return undefined;
    case 'rot90':
      return (img) => [1, 2, 3].map((q) => rotateQuarter(img, q));
    case 'rot45':
      return (img) => [...[1, 2, 3].map((q) => rotateQuarter(img, q)), ...[45, 135, 225, 315].map((angle) => warpRgb(img, { angle, dx: 0, dy: 0 }, 'reflect'))];
    case 'flip':
      return (img) => {
        const h = flipHorizontal(img);
        return [h, rotateQuarter(h, 2)];
      };
  }
}

export const SINGLE_REFERENCE_MODES = ['refuse', 'flip', 'rot90'] as const;
export type SingleReferenceMode = (typeof SINGLE_REFERENCE_MODES)[number];

/**
 * With one reference there is no other normal image to score it against, so the per-scale
 * normalisation and the adaptive threshold have nothing to stand on. These copies of the single
 * reference stand in for the missing ones (config `fewshot.single_reference`): 'flip' its two
 * mirror images and its half turn (the object keeps its axis), 'rot90' its three quarter turns.
 * Each copy is then a reference of its own: in the bank, and scored against the others.
 */
export function singleReferenceStandIns(mode: SingleReferenceMode): ((img: RgbImage) => RgbImage[]) | undefined {
  switch (mode) {
    case 'refuse':
      return undefined;
    case 'flip':
      return (img) => {
        const h = flipHorizontal(img);
        return [h, rotateQuarter(h, 2), rotateQuarter(img, 2)];
      };
    case 'rot90':
      return (img) => [1, 2, 3].map((q) => rotateQuarter(img, q));
  }
}
