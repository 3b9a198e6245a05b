/**
 * How a prompt becomes a mask when one decode is not the end of it: the refinement policies every
 * preset that prompts SAM shares (config `sam.refine`, `sam.multimask` and their parameters).
 * The image embedding is computed once; each policy only adds decoder calls (counted per prompt).
 *
 *   none     one decode of the prompt (what every preset did before these policies existed).
 *   self     SAM-SP's inference-time loop (seed 003): decode, then feed the mask's 256x256
 *            low-res logits back as `mask_input` together with the same prompt, up to
 *            `self_iterations` times; stop as soon as two successive masks have IoU >=
 *            `self_stop_iou`, or when a mask comes back empty (the last non-empty one is kept).
 *            With `self_prompt: box` each extra decode is prompted with the previous mask's
 *            tight box instead of the original prompt (SAM-SP's self-prompting, as
 *            `iapas tune` method sam-sp trains the decoder for).
 *   cascade  the CPS cascade of seed 002: (1) the prompt's box and points plus positive points at
 *            the anomaly map's highest values inside the box and negative points at its lowest
 *            (each set greedily spaced apart, see cascadePoints); (2) the tight box of that mask
 *            and its low-res logits as the next prompt. An empty mask at either step keeps the
 *            previous answer. Needs a map.
 *   multimask (combinable with each of the above) every decode returns all of SAM's outputs
 *            (multimask-export.ts) and one is chosen: `single` the single-mask output (token 0,
 *            what segment-anything's predictor returns with multimask_output=False, as the IAP-AS
 *            and SAA+ reference code call it); of the three multimask outputs (tokens 1-3) `iou`
 *            the one with the best predicted IoU (segment-anything's own multimask_output=True
 *            choice), `map` the one that agrees best with the anomaly map (Pearson correlation of
 *            the 0/1 mask with the map in the prompt's box grown by half its size on each side;
 *            predicted IoU breaks ties). `off` keeps the export's own output: a segment-anything
 *            single-mask export returns token 0 for prompts of 3 or more points and the best
 *            multimask output by predicted IoU for a box alone (exportChoice), so a box alone is
 *            already a multimask choice there, not the single-mask output.
 */
import type { SamConfig } from '../../config/schema.js';
import { SAM_MULTIMASK_CHOICES, SAM_REFINE_KINDS, SAM_SELF_PROMPTS } from '../../config/schema.js';
import { maskArea, maskBox } from '../../image/masks.js';
import { maskIou } from '../../metrics/iou.js';
import type { Box, Point } from '../../image/types.js';
import { clampBox } from '../../image/box.js';
import type { SamCandidateSet, SamEmbedding, SamMaskResult } from '../../models/sam/model.js';
import { MULTIMASK_TOKENS, SAM_MASK_TOKENS } from '../../models/sam/multimask-export.js';
import { LABEL_NEGATIVE, LABEL_POSITIVE, type SamPrompt } from '../../models/sam/transforms.js';
import { quantile } from '../../util/numeric.js';

export type RefineKind = (typeof SAM_REFINE_KINDS)[number];
export type MultimaskChoice = (typeof SAM_MULTIMASK_CHOICES)[number];
export type SelfPrompt = (typeof SAM_SELF_PROMPTS)[number];

export interface RefinePolicy {
  refine: RefineKind;
  multimask: MultimaskChoice;
  selfIterations: number;
  selfStopIou: number;
  /** What prompts each self decode besides the low-res logits: the original prompt, or the previous mask's box. */
  selfPrompt: SelfPrompt;
  cascadePositive: number;
  cascadeNegative: number;
  cascadePositiveQuantile: number;
  cascadeNegativeQuantile: number;
}

/** The policy of a config's `sam` section (every default is the schema's). */
export function refinePolicyFrom(c: SamConfig): RefinePolicy {
  return {
    refine: c.refine,
    multimask: c.multimask,
    selfIterations: c.self_iterations,
    selfStopIou: c.self_stop_iou,
    selfPrompt: c.self_prompt,
    cascadePositive: c.cascade_positive,
    cascadeNegative: c.cascade_negative,
    cascadePositiveQuantile: c.cascade_positive_quantile,
    cascadeNegativeQuantile: c.cascade_negative_quantile,
  };
}

/** True when the policy decodes each prompt exactly once with the export's own output. */
export function isPlainPolicy(p: RefinePolicy): boolean {
  return p.refine === 'none' && p.multimask === 'off';
}

/** True when the policy reads an anomaly map (cascade's points, multimask=map's agreement). */
export function policyNeedsMap(p: RefinePolicy): boolean {
  return p.refine === 'cascade' || p.multimask === 'map';
}

/** Short name: 'none', 'self', 'cascade', 'single', 'multimask', 'multimask:map', 'self+multimask', ... */
export function refinePolicyName(p: Pick<RefinePolicy, 'refine' | 'multimask'>): string {
  const mm = { off: '', single: 'single', iou: 'multimask', map: 'multimask:map' }[p.multimask];
  if (p.refine === 'none') return mm || 'none';
  return mm ? `${p.refine}+${mm}` : p.refine;
}

/**
 * A policy from its short name (see refinePolicyName; 'multimask:iou' is 'multimask'), with
 * the numeric parameters of `base`. Throws an Error naming what it accepts.
 */
export function parseRefinePolicyName(name: string, base: RefinePolicy): RefinePolicy {
  const parts = name.trim().split('+').map((s) => s.trim());
  let refine: RefineKind = 'none';
  let multimask: MultimaskChoice = 'off';
  const bad = () => new Error(`unknown refinement policy '${name}' (choose from none, self, cascade, single, multimask, multimask:map, or self/cascade + single/multimask[:map], e.g. self+multimask)`);
  for (const part of parts) {
    const mm = /^multimask(?::(iou|map))?$/.exec(part);
    if (mm || part === 'single') {
      if (multimask !== 'off') throw bad();
      multimask = mm ? ((mm[1] as MultimaskChoice | undefined) ?? 'iou') : 'single';
    } else if (part === 'self' || part === 'cascade' || part === 'none') {
      if (refine !== 'none' || (part === 'none' && parts.length > 1)) throw bad();
      refine = part;
    } else throw bad();
  }
  return { ...base, refine, multimask };
}

/** What refinement needs from a SAM model (SamModel has both; tests use fakes). */
export interface SamDecoder {
  decodeOne(embedding: SamEmbedding, prompt: SamPrompt): Promise<SamMaskResult>;
  decodeCandidates(embedding: SamEmbedding, prompt: SamPrompt): Promise<SamCandidateSet>;
}

export interface RefineContext {
  /** Scores per pixel at image size, higher = more anomalous: needed by cascade and multimask=map. */
  map?: ArrayLike<number>;
  /**
   * The plain decode of the prompt when the caller already has it: `none` and `self` start from
   * it instead of decoding again (used only when multimask is off, as that is how it was made).
   */
  first?: SamMaskResult;
}

export interface RefinedMask extends SamMaskResult {
  /** Decoder calls this prompt took (a given `first` not counted). */
  decoderCalls: number;
  /** What happened, in order, for records: e.g. ['decode', 'self 1: iou 0.91', 'self 2: iou 0.99, stop']. */
  steps: string[];
}

/** Positive points are at least this fraction of the box's longer side apart; negative points too. */
export const CASCADE_SPACING = 0.25;
/** multimask=map compares masks with the map in the prompt's box grown by this fraction of its size on each side. */
export const AGREEMENT_MARGIN = 0.5;

/** Whole pixels of a box (inclusive corners, clamped), or the whole image without a box. */
function windowOf(box: Box | undefined, width: number, height: number, margin = 0): { x0: number; y0: number; x1: number; y1: number } {
  if (!box) return { x0: 0, y0: 0, x1: width - 1, y1: height - 1 };
  const [bx0, by0, bx1, by1] = clampBox(box, width, height);
  const mw = margin * (bx1 - bx0);
  const mh = margin * (by1 - by0);
  return {
    x0: Math.max(0, Math.floor(bx0 - mw)),
    y0: Math.max(0, Math.floor(by0 - mh)),
    x1: Math.min(width - 1, Math.ceil(bx1 + mw)),
    y1: Math.min(height - 1, Math.ceil(by1 + mh)),
  };
}

/**
 * The cascade's points inside `box` (the whole image without one): `positive` points greedily
 * from the highest map value down among pixels at or above the box's `positiveQuantile`, each at
 * least CASCADE_SPACING x the box's longer side from the points already taken; `negative` points
 * the same way from the lowest value up among pixels at or below `negativeQuantile`. Ties go to
 * the first pixel in raster order.
 */
export function cascadePoints(
  map: ArrayLike<number>,
  width: number,
  height: number,
  box: Box | undefined,
  opts: Pick<RefinePolicy, 'cascadePositive' | 'cascadeNegative' | 'cascadePositiveQuantile' | 'cascadeNegativeQuantile'>,
): { positive: Point[]; negative: Point[] } {
  if (map.length !== width * height) throw new Error(`cascadePoints: map has ${map.length} values, expected ${width}x${height}`);
  const w = windowOf(box, width, height);
  const ww = w.x1 - w.x0 + 1;
  const wh = w.y1 - w.y0 + 1;
  const idx = new Int32Array(ww * wh);
  const vals = new Float32Array(ww * wh);
  let k = 0;
  for (let y = w.y0; y <= w.y1; y++) {
    for (let x = w.x0; x <= w.x1; x++) {
      idx[k] = y * width + x;
      vals[k++] = map[y * width + x];
    }
  }
  const minGap = Math.max(1, CASCADE_SPACING * Math.max(ww, wh));
  const pick = (count: number, keep: (v: number) => boolean, descending: boolean): Point[] => {
    if (count <= 0) return [];
    const order = Array.from({ length: k }, (_, i) => i).filter((i) => keep(vals[i]));
    order.sort((a, b) => (descending ? vals[b] - vals[a] : vals[a] - vals[b]) || a - b);
    const out: Point[] = [];
    for (const i of order) {
      const x = idx[i] % width;
      const y = (idx[i] - x) / width;
      if (out.every(([px, py]) => Math.hypot(px - x, py - y) >= minGap)) out.push([x, y]);
      if (out.length === count) break;
    }
    return out;
  };
  const hi = quantile(vals, opts.cascadePositiveQuantile, 'offset');
  const lo = quantile(vals, opts.cascadeNegativeQuantile, 'offset');
  return { positive: pick(opts.cascadePositive, (v) => v >= hi, true), negative: pick(opts.cascadeNegative, (v) => v <= lo, false) };
}

/**
 * Pearson correlation between a 0/1 mask and the map over the window; null when either is
 * constant there (no agreement to measure).
 */
export function maskMapAgreement(mask: Uint8Array, map: ArrayLike<number>, width: number, window: { x0: number; y0: number; x1: number; y1: number }): number | null {
  let n = 0;
  let sm = 0;
  let sv = 0;
  let smm = 0;
  let svv = 0;
  let smv = 0;
  for (let y = window.y0; y <= window.y1; y++) {
    for (let x = window.x0; x <= window.x1; x++) {
      const i = y * width + x;
      const m = mask[i] ? 1 : 0;
      const v = map[i];
      n++;
      sm += m;
      sv += v;
      smm += m;
      svv += v * v;
      smv += m * v;
    }
  }
  const cov = smv - (sm * sv) / n;
  const varM = smm - (sm * sm) / n;
  const varV = svv - (sv * sv) / n;
  if (!(varM > 0) || !(varV > 1e-12 * Math.max(1, svv))) return null;
  return cov / Math.sqrt(varM * varV);
}

/** Index into `set.candidates` of the multimask output the choice takes. */
export function chooseCandidate(set: SamCandidateSet, choice: Exclude<MultimaskChoice, 'off'>, prompt: SamPrompt, map?: ArrayLike<number>): number {
  const c = set.candidates;
  // A four-token decoder: tokens 1-3 are SAM's multimask outputs; any other count is all outputs.
  const pool = c.length === SAM_MASK_TOKENS ? c.map((_, i) => i).filter((i) => (MULTIMASK_TOKENS as readonly number[]).includes(c[i].token)) : c.map((_, i) => i);
  const byIou = (a: number, b: number) => c[b].iou - c[a].iou || a - b;
  if (choice === 'single') {
    const single = c.findIndex((x) => x.token === 0);
    if (single < 0 || c.length !== SAM_MASK_TOKENS) throw new Error(`multimask=single: the decoder returned ${c.length} masks, not the 4 tokens of a segment-anything decoder`);
    return single;
  }
  if (choice === 'iou') return [...pool].sort(byIou)[0];
  if (!map) throw new Error('multimask=map needs an anomaly map');
  const { width, height } = c[0];
  const window = windowOf(prompt.box, width, height, prompt.box ? AGREEMENT_MARGIN : 0);
  const score = new Map(pool.map((i) => [i, maskMapAgreement(c[i].mask, map, width, window) ?? -Infinity]));
  return [...pool].sort((a, b) => score.get(b)! - score.get(a)! || byIou(a, b))[0];
}

/** One prompt through the policy. */
export async function refineMask(sam: SamDecoder, embedding: SamEmbedding, prompt: SamPrompt, policy: RefinePolicy, ctx: RefineContext = {}): Promise<RefinedMask> {
  const { width, height } = embedding;
  if (policyNeedsMap(policy)) {
    if (!ctx.map) throw new Error(`SAM refinement '${refinePolicyName(policy)}' needs an anomaly map`);
    if (ctx.map.length !== width * height) throw new Error(`SAM refinement: map has ${ctx.map.length} values, image is ${width}x${height}`);
  }
  let calls = 0;
  const steps: string[] = [];
  const decode = async (p: SamPrompt, label: string): Promise<SamMaskResult> => {
    calls++;
    if (policy.multimask === 'off') {
      steps.push(label);
      return sam.decodeOne(embedding, p);
    }
    const set = await sam.decodeCandidates(embedding, p);
    const i = chooseCandidate(set, policy.multimask, p, ctx.map);
    steps.push(`${label} (token ${set.candidates[i].token})`);
    return set.candidates[i];
  };
  const done = (r: SamMaskResult): RefinedMask => ({ ...r, decoderCalls: calls, steps });
  const reuse = policy.multimask === 'off' && ctx.first !== undefined;
  const start = async () => (reuse ? (steps.push('given'), ctx.first!) : decode(prompt, 'decode'));

  if (policy.refine === 'none') return done(await start());

  if (policy.refine === 'self') {
    let cur = await start();
    for (let i = 1; i <= policy.selfIterations && maskArea(cur.mask) > 0; i++) {
      // A non-empty mask always has a box (the loop stops on an empty one).
      const next = await decode(policy.selfPrompt === 'box' ? { box: maskBox(cur.mask, width, height)!, maskInput: cur.lowRes } : { ...prompt, maskInput: cur.lowRes }, `self ${i}`);
      if (maskArea(next.mask) === 0) {
        steps.push('empty: keep previous');
        break;
      }
      const change = maskIou(cur.mask, next.mask);
      cur = next;
      steps.push(`iou ${change.toFixed(3)}`);
      if (change >= policy.selfStopIou) break;
    }
    return done(cur);
  }

  // cascade
  const { positive, negative } = cascadePoints(ctx.map!, width, height, prompt.box, policy);
  const own = prompt.points ?? [];
  const first = await decode(
    {
      box: prompt.box,
      points: [...own, ...positive, ...negative],
      labels: [...(prompt.labels ?? own.map(() => LABEL_POSITIVE)), ...positive.map(() => LABEL_POSITIVE), ...negative.map(() => LABEL_NEGATIVE)],
      maskInput: prompt.maskInput,
    },
    `cascade points +${positive.length}/-${negative.length}`,
  );
  const box = maskBox(first.mask, width, height);
  if (!box) {
    steps.push('empty: stop');
    return done(first);
  }
  const second = await decode({ box, maskInput: first.lowRes }, 'cascade mask box + logits');
  if (maskArea(second.mask) === 0) {
    steps.push('empty: keep previous');
    return done(first);
  }
  return done(second);
}

/** Every prompt of an image through the policy, in order. */
export async function refineMasks(sam: SamDecoder, embedding: SamEmbedding, prompts: SamPrompt[], policy: RefinePolicy, ctx: { map?: ArrayLike<number> } = {}): Promise<RefinedMask[]> {
  const out: RefinedMask[] = [];
  for (const p of prompts) out.push(await refineMask(sam, embedding, p, policy, { map: ctx.map }));
  return out;
}
