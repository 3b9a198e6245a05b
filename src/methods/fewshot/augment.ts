/**
 * Copies of a reference image for the memory bank (config `fewshot.augment`): objects that lie at
 * any angle on the line (screws, nuts) have normal patches at angles no reference shows. Quarter
 * turns and mirror images are exact pixel permutations; 45-degree turns are interpolated on the
 * same canvas, their corners filled by mirroring the image at its edges.
 */
import { flipHorizontal, rotateQuarter, warpRgb } from '../../image/warp.js';
import type { RgbImage } from '../../image/types.js';
import { categoryPoses, DEFAULT_ALIGNMENT_RULE, type AlignmentRule, type CategoryPoses } from './alignment.js';

/**
 * 'auto' / 'auto-rot90': 'rot45' / 'rot90' copies for the categories whose references show an
 * object at varied poses (copiesRule), none elsewhere.
 */
export const AUGMENT_MODES = ['none', 'rot90', 'rot45', 'flip', 'auto', 'auto-rot90'] as const;
export type AugmentMode = (typeof AUGMENT_MODES)[number];
/** The modes that make the same copies for every category. */
export type FixedAugmentMode = Exclude<AugmentMode, 'auto' | 'auto-rot90'>;

/** The copies of one reference a mode adds (none for 'none'). */
export function referenceCopies(mode: FixedAugmentMode): ((img: RgbImage) => RgbImage[]) | undefined {
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

/** What the references of a category show, as the alignment code measures it (alignment.ts categoryPoses). */
export interface ReferencePoseFigures {
  /** How many references were measured. */
  count: number;
  /** Their median framing detail ratio (image/framing.ts): about 1 for a texture that fills the frame. */
  objectDetail: number;
  /** The widest axis gap between two references (degrees, 0..90; 'turn''s reference spread). */
  referenceSpread: number;
}

/**
 * Whether a category gets turned reference copies under 'auto': its references show an object on a
 * plain ground (median detail ratio at least `minObjectDetail`, the figure fewshot.align=objects
 * reads) AND they lie at varied poses (their axes disagree by more than `agreeDegrees`: the
 * 'turn' rule does not apply, so alignment cannot help and the line evidently turns its objects).
 * Textures are left out because turned copies of a texture blur what normal looks like (rot45 cost
 * MTD and KSDD F1-max and MVTec grid image AUROC); objects at one pose are left to alignment.
 * Two references at least: one cannot show a spread of poses.
 */
export function copiesRule(figures: ReferencePoseFigures, rule: AlignmentRule = DEFAULT_ALIGNMENT_RULE): boolean {
  return figures.count >= 2 && figures.objectDetail >= rule.minObjectDetail && figures.referenceSpread > rule.agreeDegrees;
}

export interface ResolvedAugment {
  /** The copies this category's bank gets. */
  mode: FixedAugmentMode;
  /** 'auto' modes: the figures the rule read. */
  figures?: ReferencePoseFigures;
}

/**
 * The copies a mode makes for one category, from its references alone (no label, no test image).
 * `figures` may be passed where the caller has measured them already (fewshot.align=objects
 * reads the same two figures).
 */
export function resolveAugment(mode: AugmentMode, references: RgbImage[], figures?: ReferencePoseFigures): ResolvedAugment {
  if (mode !== 'auto' && mode !== 'auto-rot90') return { mode };
  const f = figures ?? referencePoseFigures(references);
  return { mode: copiesRule(f) ? (mode === 'auto' ? 'rot45' : 'rot90') : 'none', figures: f };
}

/** The rule's figures of a category's references: alignment.ts's 'objects' measurements, or those given. */
export function referencePoseFigures(references: RgbImage[], poses: CategoryPoses = categoryPoses(references, 'objects')): ReferencePoseFigures {
  if (poses.objectDetail === undefined) throw new Error("referencePoseFigures: the poses were measured without the 'objects' detail ratio");
  return { count: references.length, objectDetail: poses.objectDetail, referenceSpread: poses.referenceSpread };
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
