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
 *
 * Refinement columns (`--refine`): each GT-derived mode (b, bp, bps) once more with its prompts
 * through a SAM refinement policy (methods/components/sam-refine.ts), named `<mode>+<policy>` (e.g. bp+self).
 * The anomaly map those policies read (cascade's points, multimask=map's agreement) is the
 * signed distance to the ground-truth region's border: highest deep inside a region, lowest far
 * from it, so cascade's positive points lie inside and its negative points outside the region.
 */
import { regionPrompts } from '../components/sam-region-prompts.js';
import { parseRefinePolicyName, refinePolicyName, type RefinePolicy } from '../components/sam-refine.js';
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

/** A column of the study: a mode, optionally with a refinement policy. */
export interface OracleColumn {
  /** 'bp' or 'bp+self'. */
  name: string;
  mode: OracleMode;
  refine?: RefinePolicy;
}

/** The modes as columns, then each GT-derived mode with each policy (naive is never refined). */
export function oracleColumns(modes: OracleMode[], policies: RefinePolicy[] = []): OracleColumn[] {
  const out: OracleColumn[] = modes.map((mode) => ({ name: mode, mode }));
  for (const refine of policies) {
    for (const mode of modes) if (mode !== 'naive') out.push({ name: `${mode}+${refinePolicyName(refine)}`, mode, refine });
  }
  return out;
}

/** Policies from a comma-separated list of short names (methods/components/sam-refine.ts), with `base`'s parameters. */
export function parseRefineList(text: string, base: RefinePolicy): RefinePolicy[] {
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  try {
    return names.map((n) => parseRefinePolicyName(n, base)).filter((p) => refinePolicyName(p) !== 'none');
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

/** Table heading of a column: the mode's title, then the policy. */
export function columnTitle(name: string): string {
  const [mode, ...rest] = name.split('+');
  const title = MODE_TITLES[mode as OracleMode] ?? mode;
  return rest.length ? `${title}, ${rest.join('+')}` : title;
}
