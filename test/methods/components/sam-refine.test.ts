/**
 * The refinement policies' logic on a scripted decoder: which prompts they send, when they stop,
 * how many decoder calls they make, which points and which multimask output they choose.
 */
import { describe, expect, it } from 'vitest';
import type { SamCandidateSet, SamEmbedding, SamMaskResult } from '../../../src/models/sam/model.js';
import {
  cascadePoints,
  chooseCandidate,
  maskMapAgreement,
  parseRefinePolicyName,
  refineMask,
  refinePolicyFrom,
  refinePolicyName,
  type RefinePolicy,
  type SamDecoder,
} from '../../../src/methods/components/sam-refine.js';
import type { SamPrompt } from '../../../src/models/sam/transforms.js';
import { CONFIG_DEFAULTS } from '../../../src/methods/registry.js';
import { maskBox } from '../../../src/image/masks.js';

const W = 10;
const H = 10;
const EMB: SamEmbedding = { data: new Float32Array(0), dims: [1, 256, 64, 64], width: W, height: H, resized: { width: 1024, height: 1024 }, imageHash: 'x', model: 'fake' };
const BASE = refinePolicyFrom(CONFIG_DEFAULTS.sam);

/** A result whose mask is the given pixels; its low-res logits are filled with `tag` so feedback can be traced. */
function result(pixels: number[], tag: number, iou = 0.9): SamMaskResult {
  const mask = new Uint8Array(W * H);
  for (const p of pixels) mask[p] = 1;
  const logits = Float32Array.from(mask, (m) => (m ? 5 : -5));
  return { width: W, height: H, mask, logits, iou, lowRes: new Float32Array(256 * 256).fill(tag) };
}

const rect = (x0: number, y0: number, x1: number, y1: number) => {
  const out: number[] = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.push(y * W + x);
  return out;
};

/** Answers decodeOne from `single` and decodeCandidates from `sets`, in call order, recording every prompt. */
class ScriptedSam implements SamDecoder {
  prompts: SamPrompt[] = [];
  constructor(
    private single: SamMaskResult[] = [],
    private sets: SamCandidateSet[] = [],
  ) {}
  async decodeOne(_e: SamEmbedding, p: SamPrompt) {
    this.prompts.push(p);
    const r = this.single.shift();
    if (!r) throw new Error('scripted decoder: no more single results');
    return r;
  }
  async decodeCandidates(_e: SamEmbedding, p: SamPrompt) {
    this.prompts.push(p);
    const r = this.sets.shift();
    if (!r) throw new Error('scripted decoder: no more candidate sets');
    return r;
  }
}

const policy = (over: Partial<RefinePolicy>): RefinePolicy => ({ ...BASE, ...over });

describe('self refinement', () => {
  it('feeds each low-res mask back with the same prompt and stops once the mask stops changing', async () => {
    const a = result(rect(2, 2, 6, 6), 1); // 25 px
    const b = result(rect(3, 3, 6, 6), 2); // 16 px: IoU with a 0.64
    const c = result(rect(3, 3, 6, 6), 3); // same as b: IoU 1 -> stop
    const sam = new ScriptedSam([a, b, c, result([], 4)]);
    const prompt: SamPrompt = { box: [2, 2, 6, 6], points: [[4, 4]] };
    const r = await refineMask(sam, EMB, prompt, policy({ refine: 'self', selfIterations: 5, selfStopIou: 0.98 }));
    expect(r.decoderCalls).toBe(3);
    expect(sam.prompts).toHaveLength(3);
    expect(sam.prompts[0].maskInput).toBeUndefined();
    expect(sam.prompts[1].maskInput![0]).toBe(1);
    expect(sam.prompts[2].maskInput![0]).toBe(2);
    for (const p of sam.prompts) {
      expect(p.box).toEqual([2, 2, 6, 6]);
      expect(p.points).toEqual([[4, 4]]);
    }
    expect(r.lowRes[0]).toBe(3);
    expect(r.steps).toEqual(['decode', 'self 1', 'iou 0.640', 'self 2', 'iou 1.000']);
  });

  it('makes at most self_iterations extra calls, starts from a given first decode, and keeps the last non-empty mask', async () => {
    const first = result(rect(0, 0, 4, 4), 0);
    const sam = new ScriptedSam([result(rect(0, 0, 3, 3), 1), result(rect(0, 0, 2, 2), 2), result(rect(0, 0, 1, 1), 3)]);
    const r = await refineMask(sam, EMB, { box: [0, 0, 4, 4] }, policy({ refine: 'self', selfIterations: 2 }), { first });
    expect(r.decoderCalls).toBe(2);
    expect(sam.prompts[0].maskInput![0]).toBe(0);
    expect(r.lowRes[0]).toBe(2);

    const empty = new ScriptedSam([result(rect(0, 0, 3, 3), 1), result([], 2)]);
    const k = await refineMask(empty, EMB, { box: [0, 0, 4, 4] }, policy({ refine: 'self', selfIterations: 3 }));
    expect(k.decoderCalls).toBe(2);
    expect(k.lowRes[0]).toBe(1);
    expect(k.steps.at(-1)).toBe('empty: keep previous');
  });

  it('with self_prompt=box prompts each extra decode with the previous mask\'s tight box and logits, not the original prompt', async () => {
    const a = result(rect(2, 2, 6, 6), 1);
    const b = result(rect(3, 3, 5, 7), 2);
    const c = result(rect(3, 3, 5, 7), 3);
    const sam = new ScriptedSam([a, b, c]);
    const prompt: SamPrompt = { box: [1, 1, 8, 8], points: [[4, 4]] };
    const r = await refineMask(sam, EMB, prompt, policy({ refine: 'self', selfPrompt: 'box', selfIterations: 3, selfStopIou: 0.98 }));
    expect(r.decoderCalls).toBe(3);
    expect(sam.prompts[0]).toEqual(prompt);
    expect(sam.prompts[1]).toEqual({ box: maskBox(a.mask, W, H), maskInput: a.lowRes });
    expect(sam.prompts[2]).toEqual({ box: maskBox(b.mask, W, H), maskInput: b.lowRes });
    expect(sam.prompts[1].box).not.toEqual(sam.prompts[2].box);
    expect(sam.prompts[1].points).toBeUndefined();
    expect(r.lowRes[0]).toBe(3);
  });

  it('the default self_prompt keeps the original prompt (today\'s behaviour)', () => {
    expect(BASE.selfPrompt).toBe('prompt');
  });

  it('does not refine an empty first mask', async () => {
    const sam = new ScriptedSam([result([], 1)]);
    const r = await refineMask(sam, EMB, { box: [0, 0, 4, 4] }, policy({ refine: 'self' }));
    expect(r.decoderCalls).toBe(1);
  });
});

describe('cascade', () => {
  // A map that peaks at (5,5), with a second bump at (3,6), lowest in the top-left corner.
  const map = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) map[y * W + x] = x + y;
  map[5 * W + 5] = 100;
  map[6 * W + 3] = 90;
  map[5 * W + 6] = 95; // next to the peak: too close to be a second point

  it('takes spaced positive points at the highest values and negative points at the lowest inside the box', () => {
    // Box 8x8 -> spacing 0.25 * 8 = 2 px.
    const pts = cascadePoints(map, W, H, [1, 1, 8, 8], { cascadePositive: 2, cascadeNegative: 2, cascadePositiveQuantile: 0.9, cascadeNegativeQuantile: 0.1 });
    expect(pts.positive).toEqual([
      [5, 5],
      [3, 6],
    ]);
    // Lowest: (1,1)=2, then (2,1) and (1,2)=3 lie within 2 px of it; (3,1) and (1,3) = 4: first in raster order.
    expect(pts.negative).toEqual([
      [1, 1],
      [3, 1],
    ]);
    // Quantiles limit the candidates: at q 0.99 of the 64 box values only the peak and its neighbour qualify.
    const strict = cascadePoints(map, W, H, [1, 1, 8, 8], { cascadePositive: 3, cascadeNegative: 0, cascadePositiveQuantile: 0.99, cascadeNegativeQuantile: 0.1 });
    expect(strict.positive).toEqual([[5, 5]]);
    expect(strict.negative).toEqual([]);
  });

  it('decodes box + points, then the first mask box with its logits', async () => {
    const first = result(rect(4, 4, 7, 6), 1);
    const second = result(rect(4, 4, 6, 6), 2);
    const sam = new ScriptedSam([first, second]);
    const p = policy({ refine: 'cascade', cascadePositive: 1, cascadeNegative: 1, cascadePositiveQuantile: 0.9, cascadeNegativeQuantile: 0.1 });
    const r = await refineMask(sam, EMB, { box: [1, 1, 8, 8], points: [[6, 6]] }, p, { map });
    expect(r.decoderCalls).toBe(2);
    expect(sam.prompts[0]).toEqual({ box: [1, 1, 8, 8], points: [[6, 6], [5, 5], [1, 1]], labels: [1, 1, 0], maskInput: undefined });
    expect(sam.prompts[1].box).toEqual([4, 4, 7, 6]);
    expect(sam.prompts[1].points).toBeUndefined();
    expect(sam.prompts[1].maskInput![0]).toBe(1);
    expect(r.lowRes[0]).toBe(2);
  });

  it('stops after an empty first mask, and needs a map', async () => {
    const sam = new ScriptedSam([result([], 1)]);
    const r = await refineMask(sam, EMB, { box: [1, 1, 8, 8] }, policy({ refine: 'cascade' }), { map });
    expect(r.decoderCalls).toBe(1);
    await expect(refineMask(sam, EMB, { box: [1, 1, 8, 8] }, policy({ refine: 'cascade' }))).rejects.toThrow(/'cascade' needs an anomaly map/);
  });
});

describe('multimask choice', () => {
  const set = (ious: number[], masks: number[][]): SamCandidateSet => ({
    numPoints: 2,
    candidates: ious.map((iou, token) => ({ ...result(masks[token], token, iou), token })),
  });

  it('by predicted IoU takes the best of tokens 1-3, never the single-mask token 0', () => {
    const s = set([0.99, 0.5, 0.8, 0.7], [rect(0, 0, 1, 1), rect(0, 0, 2, 2), rect(0, 0, 3, 3), rect(0, 0, 4, 4)]);
    expect(s.candidates[chooseCandidate(s, 'iou', { box: [0, 0, 9, 9] })].token).toBe(2);
    // 'single' is token 0 whatever the predictions.
    expect(s.candidates[chooseCandidate(s, 'single', { box: [0, 0, 9, 9] })].token).toBe(0);
  });

  it('by the map takes the output that correlates best with it inside the grown box', () => {
    const map = new Float32Array(W * H);
    for (const p of rect(2, 2, 5, 5)) map[p] = 1;
    // Token 1: exactly the map's region; token 2: larger; token 3: smaller with the best predicted IoU.
    const s = set([0.2, 0.6, 0.7, 0.95], [[], rect(2, 2, 5, 5), rect(1, 1, 7, 7), rect(3, 3, 4, 4)]);
    expect(s.candidates[chooseCandidate(s, 'map', { box: [2, 2, 5, 5] }, map)].token).toBe(1);
    // The agreement of a mask equal to a 0/1 map is 1 (Matthews correlation).
    const window = { x0: 0, y0: 0, x1: 9, y1: 9 };
    expect(maskMapAgreement(s.candidates[1].mask, map, W, window)).toBeCloseTo(1, 12);
    expect(maskMapAgreement(new Uint8Array(W * H), map, W, window)).toBeNull();
  });

  it('runs every decode of a policy through the choice', async () => {
    const s1 = set([0.9, 0.1, 0.3, 0.2], [rect(0, 0, 4, 4), rect(0, 0, 1, 1), rect(0, 0, 3, 3), rect(0, 0, 2, 2)]);
    const s2 = set([0.9, 0.1, 0.3, 0.2], [rect(0, 0, 4, 4), rect(0, 0, 1, 1), rect(0, 0, 3, 3), rect(0, 0, 2, 2)]);
    const sam = new ScriptedSam([], [s1, s2]);
    const r = await refineMask(sam, EMB, { box: [0, 0, 4, 4] }, policy({ refine: 'self', multimask: 'iou', selfIterations: 1 }), { first: result([], 9) });
    // A given first decode is ignored when multimask is on: it was not made that way.
    expect(r.decoderCalls).toBe(2);
    expect(r.steps).toEqual(['decode (token 2)', 'self 1 (token 2)', 'iou 1.000']);
  });
});

describe('policy names', () => {
  it('parses and prints the short names', () => {
    for (const name of ['none', 'self', 'cascade', 'single', 'multimask', 'multimask:map', 'self+multimask', 'self+single', 'cascade+multimask:map']) {
      expect(refinePolicyName(parseRefinePolicyName(name, BASE))).toBe(name);
    }
    expect(parseRefinePolicyName('multimask:iou', BASE).multimask).toBe('iou');
    expect(parseRefinePolicyName(' self + multimask ', BASE)).toMatchObject({ refine: 'self', multimask: 'iou', selfIterations: BASE.selfIterations });
    for (const bad of ['selff', 'self+cascade', 'multimask+multimask', 'single+multimask', 'none+multimask', 'multimask:best']) {
      expect(() => parseRefinePolicyName(bad, BASE)).toThrow(/unknown refinement policy/);
    }
  });
});
