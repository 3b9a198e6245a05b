/**
 * Prompts from ground truth for the prompted-SAM ("oracle") study of seed 001: how well does SAM
 * segment an anomaly when it is told where the anomaly is?
 *
 *   naive  one box over the whole image
 *   b      a tight box around each ground-truth region (8-connected component)
 *   bp     that box plus one point inside the region: the region pixel nearest its centroid
 *   bps    that box plus 20 points drawn uniformly (without replacement) from the region's pixels
 *
 * One SAM call per region; the image's prediction is the union of its regions' masks.
 */
import { regionPrompts } from '../../models/sam/region-prompts.js';
import type { SamPrompt } from '../../models/sam/transforms.js';
import { UserError } from '../../util/errors.js';
import { sha256 } from '../../util/hash.js';

export const ORACLE_MODES = ['naive', 'b', 'bp', 'bps'] as const;
export type OracleMode = (typeof ORACLE_MODES)[number];

export const MODE_TITLES: Record<OracleMode, string> = {
  naive: 'image box',
  b: 'box',
  bp: 'box + 1 point',
  bps: 'box + 20 points',
};

export function parseModes(text: string): OracleMode[] {
  const modes = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of modes) {
    if (!(ORACLE_MODES as readonly string[]).includes(m)) throw new UserError(`unknown oracle mode '${m}' (choose from ${ORACLE_MODES.join(', ')})`);
  }
  if (modes.length === 0) throw new UserError('no oracle mode given');
  return [...new Set(modes)] as OracleMode[];
}

/**
 * The 32-bit seed of one image's point sampling: derived from the run seed and the image's
 * identity, so that an image gets the same points whatever other images are in the run.
 */
export function imageSeed(seed: number, category: string, relId: string): number {
  return parseInt(sha256(`${seed}:${category}:${relId}`).slice(0, 8), 16);
}

export function oraclePrompts(
  mode: OracleMode,
  gt: Uint8Array,
  width: number,
  height: number,
  opts: { random?: () => number; points?: number } = {},
): SamPrompt[] {
  if (mode === 'naive') return [{ box: [0, 0, width - 1, height - 1] }];
  const point = ({ b: 'none', bp: 'central', bps: 'sample' } as const)[mode];
  return regionPrompts(gt, width, height, { point, count: opts.points, random: opts.random }).map(({ box, points }) => (points.length ? { box, points } : { box }));
}
