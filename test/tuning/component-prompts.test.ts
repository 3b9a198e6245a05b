import { describe, expect, it } from 'vitest';
import { labelComponents } from '../../src/image/connected-components.js';
import { encodePrompt } from '../../src/models/sam/transforms.js';
import { componentPoints, componentPrompt, jitteredBox } from '../../src/tuning/component-prompts.js';
import { frozenArrays } from '../../src/tuning/decoder-params.js';
import { toFrozen } from '../../src/tuning/decoder-forward.js';
import { initLora } from '../../src/tuning/lora.js';
import { embeddingTokens, sparseEmbedding, toPhaseOrder } from '../../src/tuning/prompt-embedding.js';
import { ADAM_DEFAULTS, evalLoss, initialState, trainStep, type StepConfig, type TrainSample } from '../../src/tuning/train-step.js';
import { lowResTarget } from '../../src/tuning/training-data.js';
import { mulberry32 } from '../../src/util/random.js';
import { fakeEmbedding } from './support.js';
import { realWeights } from './synthetic.js';

/** A 64x64 mask with an L-shaped component (its box is mostly background) and a small square. */
function lMask(): { mask: Uint8Array; width: number; height: number } {
  const width = 64;
  const height = 64;
  const mask = new Uint8Array(width * height);
  for (let y = 10; y < 50; y++) for (let x = 10; x < 14; x++) mask[y * width + x] = 1;
  for (let y = 46; y < 50; y++) for (let x = 10; x < 50; x++) mask[y * width + x] = 1;
  for (let y = 20; y < 26; y++) for (let x = 40; x < 46; x++) mask[y * width + x] = 1;
  return { mask, width, height };
}

describe('training prompts from a ground-truth component', () => {
  const { mask, width, height } = lMask();
  const { labels, components } = labelComponents(mask, width, height);
  const ell = components.reduce((a, b) => (b.area > a.area ? b : a));

  it('points are distinct pixels of the component itself, not merely of its box', () => {
    for (let seed = 0; seed < 20; seed++) {
      const pts = componentPoints(ell, labels, width, 8, mulberry32(seed));
      expect(pts).toHaveLength(8);
      for (const [x, y] of pts) expect(labels[y * width + x]).toBe(ell.label);
      expect(new Set(pts.map(([x, y]) => y * width + x)).size).toBe(8);
    }
    // Fewer pixels than asked: every pixel once.
    const small = components.find((c) => c !== ell)!;
    expect(componentPoints(small, labels, width, 100, mulberry32(1))).toHaveLength(small.area);
  });

  it('the box moves each side by at most jitter of the box size, and by nothing at jitter 0', () => {
    const w = ell.x1 - ell.x0 + 1;
    const h = ell.y1 - ell.y0 + 1;
    for (let seed = 0; seed < 50; seed++) {
      const [x0, y0, x1, y1] = jitteredBox(ell, 0.1, mulberry32(seed));
      expect(Math.abs(x0 - ell.x0)).toBeLessThanOrEqual(0.1 * w);
      expect(Math.abs(y0 - ell.y0)).toBeLessThanOrEqual(0.1 * h);
      expect(Math.abs(x1 - (ell.x1 + 1))).toBeLessThanOrEqual(0.1 * w);
      expect(Math.abs(y1 - (ell.y1 + 1))).toBeLessThanOrEqual(0.1 * h);
    }
    expect(jitteredBox(ell, 0, mulberry32(3))).toEqual([ell.x0, ell.y0, ell.x1 + 1, ell.y1 + 1]);
  });

  it('each kind gives its parts; the same seed the same prompt, another seed another', () => {
    const o = { jitter: 0.1, points: 3 };
    const box = componentPrompt(ell, labels, width, { ...o, kind: 'box' }, mulberry32(5));
    const both = componentPrompt(ell, labels, width, { ...o, kind: 'box+point' }, mulberry32(5));
    const pts = componentPrompt(ell, labels, width, { ...o, kind: 'points' }, mulberry32(5));
    expect(box.points).toBeUndefined();
    expect(both.box).toEqual(box.box);
    expect(both.points).toHaveLength(3);
    expect(both.labels).toEqual([1, 1, 1]);
    expect(pts.box).toBeUndefined();
    expect(pts.points).toEqual(both.points);
    expect(componentPrompt(ell, labels, width, { ...o, kind: 'box+point' }, mulberry32(5))).toEqual(both);
    expect(componentPrompt(ell, labels, width, { ...o, kind: 'box+point' }, mulberry32(6))).not.toEqual(both);
    // Points alone: SAM's padding point follows them, as the decoder export expects.
    const enc = encodePrompt(pts, width, height);
    expect(Array.from(enc.labels)).toEqual([1, 1, 1, -1]);
  });

  it('a few steps with point prompts lower the loss of a tiny synthetic set', () => {
    const weights = realWeights();
    const fa = frozenArrays(weights);
    const frozen = toFrozen(fa);
    const lora = { rank: 4, alpha: 4, targets: ['q', 'v'] as Array<'q' | 'v'> };
    const config: StepConfig = { lora, adam: { ...ADAM_DEFAULTS, lr: 3e-3 }, losses: { bce: 1, dice: 1, iou: 1 } };
    // Discs on a 256x256 image; the prompt is two points drawn from each disc, no box.
    const sample = (seed: number, cx: number, cy: number, r: number): TrainSample => {
      const disc = new Uint8Array(256 * 256);
      for (let y = 0; y < 256; y++) for (let x = 0; x < 256; x++) disc[y * 256 + x] = Math.hypot(x - cx, y - cy) < r ? 1 : 0;
      const l = labelComponents(disc, 256, 256);
      const prompt = componentPrompt(l.components[0], l.labels, 256, { kind: 'points', jitter: 0, points: 2 }, mulberry32(seed));
      const p = encodePrompt(prompt, 256, 256);
      return { tokens: embeddingTokens(fakeEmbedding(seed)), sparse: sparseEmbedding(weights, p.coords, p.labels), numPoints: p.count, target: toPhaseOrder(lowResTarget(l.labels, 256, 256, 1)) };
    };
    const samples = [sample(1, 120, 100, 30), sample(2, 80, 160, 20)];
    expect(samples[0].numPoints).toBe(3);
    const state = initialState(initLora(fa, lora, 0));
    const mean = () => samples.reduce((s, x) => s + evalLoss(frozen, state.lora, config, x), 0) / samples.length;
    const before = mean();
    // Points say less than a box, so the loss starts higher and falls slower: eight steps.
    for (let i = 0; i < 8; i++) trainStep(frozen, state, samples[i % 2], config);
    expect(mean()).toBeLessThan(before * 0.9);
  }, 300_000);
});
