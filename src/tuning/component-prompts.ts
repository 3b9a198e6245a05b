/**
 * The prompt a training sample gives the decoder for one ground-truth component, as a pure
 * function of the component, its label image and a seeded generator (seed, epoch, sample), so a
 * resumed run draws the same prompts:
 *   box        the component's box, each side moved by up to `jitter` of its size;
 *   box+point  that box and `points` positive points on the component;
 *   points     `points` positive points on the component, no box (SAM pads with one point).
 * Points are pixels of the component itself (not of its box), drawn without replacement, so a
 * thin or curved defect is never prompted off its own pixels; they are integer pixel coordinates,
 * as the presets' point prompts (SAM's own export adds the half pixel).
 */
import type { Component } from '../image/connected-components.js';
import type { SamPrompt } from '../models/sam/transforms.js';

export const TRAIN_PROMPT_KINDS = ['box', 'box+point', 'points'] as const;
export type TrainPromptKind = (typeof TRAIN_PROMPT_KINDS)[number];

/** The component's box [x0, y0, x1, y1) with each side moved by up to `jitter` of the box size. */
export function jitteredBox(c: Component, jitter: number, random: () => number): [number, number, number, number] {
  const w = c.x1 - c.x0 + 1;
  const h = c.y1 - c.y0 + 1;
  const j = (size: number) => (2 * random() - 1) * jitter * size;
  return [c.x0 + j(w), c.y0 + j(h), c.x1 + 1 + j(w), c.y1 + 1 + j(h)];
}

/** `n` distinct pixels [x, y] of the component (all of them when it has fewer). */
export function componentPoints(c: Component, labels: Int32Array, width: number, n: number, random: () => number): Array<[number, number]> {
  const pixels: number[] = [];
  for (let y = c.y0; y <= c.y1; y++) {
    for (let x = c.x0; x <= c.x1; x++) if (labels[y * width + x] === c.label) pixels.push(y * width + x);
  }
  const k = Math.min(n, pixels.length);
  // Partial Fisher-Yates: the first k entries become a uniform sample without replacement.
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (pixels.length - i));
    [pixels[i], pixels[j]] = [pixels[j], pixels[i]];
  }
  return pixels.slice(0, k).map((p) => [p % width, Math.floor(p / width)]);
}

export interface ComponentPromptOptions {
  kind: TrainPromptKind;
  jitter: number;
  /** Positive points for box+point and points. */
  points: number;
}

/** The prompt of one training sample, in image pixels (encodePrompt maps it to the model frame). */
export function componentPrompt(c: Component, labels: Int32Array, width: number, o: ComponentPromptOptions, random: () => number): SamPrompt {
  // The box is drawn first whatever the kind, so `box` and `box+point` runs jitter their boxes alike.
  const box = jitteredBox(c, o.jitter, random);
  if (o.kind === 'box') return { box };
  const points = componentPoints(c, labels, width, o.points, random);
  return o.kind === 'points' ? { points, labels: points.map(() => 1) } : { box, points, labels: points.map(() => 1) };
}
