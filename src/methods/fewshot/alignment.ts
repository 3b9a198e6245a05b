/**
 * Object alignment (config `fewshot.align`): a test image whose object lies turned against the
 * references is turned (and shifted) back into their pose before its features are taken, and its
 * map is carried back to the image's own frame, so masks and metrics stay where the image is.
 *
 * When it applies reads no label and no other test image:
 * - per category, from the references alone: their axes measured against each other agree
 *   within `agreeDegrees`. A line that shows its objects at one pose makes a turned test object
 *   out of place, and the estimate can see that pose; references at varied poses (metal nuts,
 *   plates) already give the bank turned patches, and textures whose orientation the estimate
 *   cannot read give scattered estimates, so both are left as they are;
 * - per image: its axis against each reference agrees across the references within the same
 *   `agreeDegrees` (an estimate that the references contradict is not trusted), and the turn to
 *   undo is at least `minTurnDegrees` (an image in the references' pose is never resampled).
 */
import type { RgbImage } from '../../image/types.js';
import { estimatePose, normaliseAngle, poseReference, type PoseEstimate, type PoseReference } from '../../image/pose.js';
import { invertWarp, warpRgb, warpScalar, type Warp } from '../../image/warp.js';

export const ALIGN_MODES = ['none', 'turn'] as const;
export type AlignMode = (typeof ALIGN_MODES)[number];

export interface AlignmentRule {
  agreeDegrees: number;
  minTurnDegrees: number;
}

export const DEFAULT_ALIGNMENT_RULE: AlignmentRule = { agreeDegrees: 10, minTurnDegrees: 5 };

export interface CategoryPoses {
  references: PoseReference[];
  /** The category rule's verdict, and the widest spread of the references' mutual turns (degrees). */
  applies: boolean;
  referenceSpread: number;
}

/**
 * Circular mean of turns (degrees) and the largest distance of any turn from it. With
 * `period` 180 the turns are axes (a turn and its half turn are the same axis): the mean is then
 * in (-90, 90].
 */
export function turnSpread(angles: readonly number[], period: 360 | 180 = 360): { mean: number; spread: number } {
  if (angles.length === 0) return { mean: 0, spread: 0 };
  const k = 360 / period;
  let sx = 0;
  let sy = 0;
  for (const a of angles) {
    sx += Math.cos((k * a * Math.PI) / 180);
    sy += Math.sin((k * a * Math.PI) / 180);
  }
  const mean = (Math.atan2(sy, sx) * 180) / Math.PI / k;
  let spread = 0;
  for (const a of angles) spread = Math.max(spread, Math.abs(normaliseAngle(k * (a - mean))) / k);
  return { mean, spread };
}

/**
 * The references' pose data and the category rule: every reference's axis measured against
 * every other's within `agreeDegrees` of none (axes, because a texture's half turn cannot be
 * read); at least two references.
 */
export function categoryPoses(references: RgbImage[], rule: AlignmentRule = DEFAULT_ALIGNMENT_RULE): CategoryPoses {
  const poses = references.map((r) => poseReference(r));
  const mutual: number[] = [];
  for (let i = 0; i < poses.length; i++) for (let j = 0; j < poses.length; j++) if (i !== j) mutual.push(estimatePose(poses[i], poses[j]).warp.angle);
  const referenceSpread = mutual.reduce((m, a) => Math.max(m, Math.abs(normaliseAngle(2 * a)) / 2), 0);
  return { references: poses, applies: poses.length >= 2 && referenceSpread <= rule.agreeDegrees, referenceSpread };
}

export interface ImageAlignment {
  /** test ~ warpRgb(reference, pose): the pose to undo, or null when the image stays as it is. */
  pose: Warp | null;
  /** The turn against each reference (degrees), for notes and checks. */
  turns: number[];
}

/**
 * Whether and how one test image is aligned (see the file comment). Its turn is measured against
 * every reference; they must agree on the axis. Where they also agree on the full turn (an object
 * whose two ends differ), that turn and the best-matching reference's shift are undone; where they
 * agree only on the axis (a texture, or a symmetric object), only the axis turn is, without a
 * half turn or a shift that nothing measured.
 */
export function imageAlignment(image: RgbImage, category: CategoryPoses, rule: AlignmentRule = DEFAULT_ALIGNMENT_RULE): ImageAlignment {
  if (!category.applies) return { pose: null, turns: [] };
  const test = poseReference(image);
  const estimates: PoseEstimate[] = category.references.map((r) => estimatePose(test, r));
  const turns = estimates.map((e) => e.warp.angle);
  const axis = turnSpread(turns, 180);
  if (axis.spread > rule.agreeDegrees) return { pose: null, turns };
  const full = turnSpread(turns, 360);
  if (full.spread <= rule.agreeDegrees) {
    if (Math.abs(full.mean) < rule.minTurnDegrees) return { pose: null, turns };
    const best = estimates.reduce((a, e) => (e.peak > a.peak ? e : a));
    return { pose: { angle: full.mean, dx: best.warp.dx, dy: best.warp.dy }, turns };
  }
  if (Math.abs(axis.mean) < rule.minTurnDegrees) return { pose: null, turns };
  return { pose: { angle: axis.mean, dx: 0, dy: 0 }, turns };
}

/**
 * The raw map of an image scored in the references' pose: the image turned back by its pose,
 * scored, and the map carried back by the pose itself. Without a pose: `score(image)`.
 */
export async function scoreInReferencePose(image: RgbImage, pose: Warp | null, score: (img: RgbImage) => Promise<Float32Array>): Promise<Float32Array> {
  if (!pose) return score(image);
  const aligned = warpRgb(image, invertWarp(pose), 'reflect');
  return warpScalar(await score(aligned), image.width, image.height, pose);
}
