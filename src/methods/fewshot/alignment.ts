/**
 * Object alignment (config `fewshot.align`): a test image whose content lies turned against the
 * references is turned (and shifted) back into a reference's pose before its features are taken,
 * and its map is carried back to the image's own frame, so masks and metrics stay where the image
 * is. Poses come from image/pose.ts (axes from the spectrum, half turn and shift from phase
 * correlation).
 *
 * When it applies reads no label and no other test image:
 * - per category, from the references alone, two modes:
 *   'turn': the references' axes measured against each other agree within `agreeDegrees` (a line
 *   that shows its objects at one pose); references at varied poses are left as they are.
 *   'nearest': the references may lie at any poses, but their mutual turns must be consistent
 *   (i against j within `agreeDegrees` of i against the first minus j against the first): an
 *   estimate that reads the content gives consistent turns, one that reads noise (a texture with
 *   no orientation) does not;
 *   'objects': 'turn', and only where the references show an object on a plain ground (image/framing.ts:
 *   their median centre-to-border detail ratio at least `minObjectDetail`). A surface that fills
 *   the frame (a brushed or streaked texture, tiles, strips) has references that agree on their
 *   streak axis as well as objects agree on theirs, and turning its test images by the few
 *   degrees their streaks vary costs more than it gains;
 * - per image: its turn against each reference, carried to the first reference's frame, agrees
 *   across the references within the same `agreeDegrees` (an estimate the references contradict
 *   is not trusted); the image is turned to the reference whose pose is the nearest, and only when
 *   that turn is at least `minTurnDegrees` (an image in a reference's pose is never resampled).
 *   Where the references agree on the full turn (an object whose two ends differ), the turn and
 *   that reference's shift are undone; where they agree only on the axis (a texture, or an object
 *   that looks the same after a half turn), only the axis turn is, without a shift nothing measured.
 */
import type { RgbImage } from '../../image/types.js';
import { estimatePose, normaliseAngle, poseReference, type PoseEstimate, type PoseReference } from '../../image/pose.js';
import { invertWarp, warpRgb, warpScalar, type Warp } from '../../image/warp.js';
import { framing } from '../../image/framing.js';
import { quantile } from '../../util/numeric.js';

export const ALIGN_MODES = ['none', 'turn', 'nearest', 'objects'] as const;
export type AlignMode = (typeof ALIGN_MODES)[number];

export interface AlignmentRule {
  agreeDegrees: number;
  minTurnDegrees: number;
  /** 'objects': the references' median framing detail from which they show an object (textures read about 1). */
  minObjectDetail: number;
}

export const DEFAULT_ALIGNMENT_RULE: AlignmentRule = { agreeDegrees: 10, minTurnDegrees: 5, minObjectDetail: 1.5 };

export interface CategoryPoses {
  references: PoseReference[];
  /** Each reference's turn against the first (degrees; 0 for the first). */
  offsets: number[];
  /** The category rule's verdict. */
  applies: boolean;
  /** Widest axis gap the rule measured ('turn': between references; 'nearest': between a mutual turn and the one the offsets imply). */
  referenceSpread: number;
  /** 'objects': the references' median framing detail (image/framing.ts). */
  objectDetail?: number;
}

/** Distance of two axes (degrees, 0..90): a turn and its half turn are one axis. */
export function axisGap(a: number, b: number): number {
  return Math.abs(normaliseAngle(2 * (a - b))) / 2;
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

/** The references' pose data and the category rule of `mode` (see the file comment); at least two references. */
export function categoryPoses(references: RgbImage[], mode: Exclude<AlignMode, 'none'> = 'turn', rule: AlignmentRule = DEFAULT_ALIGNMENT_RULE): CategoryPoses {
  const poses = references.map((r) => poseReference(r));
  const offsets = poses.map((p, j) => (j === 0 ? 0 : estimatePose(p, poses[0]).warp.angle));
  let referenceSpread = 0;
  for (let i = 0; i < poses.length; i++) {
    for (let j = 0; j < poses.length; j++) {
      if (i === j) continue;
      const measured = estimatePose(poses[i], poses[j]).warp.angle;
      referenceSpread = Math.max(referenceSpread, axisGap(measured, mode === 'nearest' ? offsets[i] - offsets[j] : 0));
    }
  }
  const agree = poses.length >= 2 && referenceSpread <= rule.agreeDegrees;
  if (mode !== 'objects') return { references: poses, offsets, applies: agree, referenceSpread };
  const objectDetail = quantile(references.map((r) => framing(r).detail), 0.5);
  return { references: poses, offsets, applies: agree && objectDetail >= rule.minObjectDetail, referenceSpread, objectDetail };
}

export interface ImageAlignment {
  /** test ~ warpRgb(reference, pose): the pose to undo, or null when the image stays as it is. */
  pose: Warp | null;
  /** The turn against each reference (degrees), for notes and checks. */
  turns: number[];
}

/** Whether and how one test image is aligned (see the file comment for the rule). */
export function imageAlignment(image: RgbImage, category: CategoryPoses, rule: AlignmentRule = DEFAULT_ALIGNMENT_RULE): ImageAlignment {
  if (!category.applies) return { pose: null, turns: [] };
  const test = poseReference(image);
  const estimates: PoseEstimate[] = category.references.map((r) => estimatePose(test, r));
  const turns = estimates.map((e) => e.warp.angle);
  // The test's turn against the first reference, as each reference sees it.
  const seen = turns.map((t, j) => t + category.offsets[j]);
  const axis = turnSpread(seen, 180);
  if (axis.spread > rule.agreeDegrees) return { pose: null, turns };
  const full = turnSpread(seen, 360);
  const fullTurn = full.spread <= rule.agreeDegrees;
  // The turn to each reference's pose; the nearest is undone.
  const toEach = category.offsets.map((o) => (fullTurn ? normaliseAngle(full.mean - o) : normaliseAngle(2 * (axis.mean - o)) / 2));
  let j = 0;
  for (let i = 1; i < toEach.length; i++) if (Math.abs(toEach[i]) < Math.abs(toEach[j])) j = i;
  if (Math.abs(toEach[j]) < rule.minTurnDegrees) return { pose: null, turns };
  return { pose: fullTurn ? { angle: toEach[j], dx: estimates[j].warp.dx, dy: estimates[j].warp.dy } : { angle: toEach[j], dx: 0, dy: 0 }, turns };
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
