/**
 * Regenerates the inputs of test/metrics/fixtures/*-golden.json from their seeds. Mirrors the
 * generators in tools/golden/metrics_golden.py call for call (same LCG, same arithmetic in float64,
 * rounded to float32 at the end), so the expected values computed there apply here.
 */
import { labelComponents } from '../../src/image/connected-components.js';
import type { RegionPixels } from '../../src/metrics/aupro.js';
export class Lcg {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0;
    return (this.s >>> 8) / 16777216;
  }
}

export interface ScoreSet {
  scores: Float32Array;
  labels: Uint8Array;
}

export function genTies(seed: number, n: number): ScoreSet {
  const g = new Lcg(seed);
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const lab = g.next() < 0.3 ? 1 : 0;
    scores[i] = Math.floor((g.next() * 0.8 + lab * 0.2) * 8) / 8;
    labels[i] = lab;
  }
  return { scores, labels };
}

export function genImbalance(seed: number, n: number): ScoreSet {
  const g = new Lcg(seed);
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const lab = g.next() < 0.004 ? 1 : 0;
    scores[i] = g.next() + lab * 0.5 * g.next();
    labels[i] = lab;
  }
  return { scores, labels };
}

export function genBlocks(seed: number, n: number): ScoreSet {
  const g = new Lcg(seed);
  const scores = new Float32Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const block = Math.floor(i / 1000);
    const u = g.next();
    const v = block % 3 === 0 ? 0.5 : u;
    scores[i] = v;
    labels[i] = g.next() < (v > 0.6 ? 0.5 : 0.1) ? 1 : 0;
  }
  return { scores, labels };
}

export function genConstant(seed: number, n: number): ScoreSet {
  const g = new Lcg(seed);
  const scores = new Float32Array(n).fill(0.25);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = g.next() < 0.2 ? 1 : 0;
  return { scores, labels };
}

export const scoreGenerators: Record<string, (seed: number, n: number) => ScoreSet> = {
  ties: genTies,
  imbalance: genImbalance,
  constant_blocks: genBlocks,
  constant: genConstant,
};

export interface ImageSet {
  maps: Float32Array[];
  masks: Uint8Array[];
  width: number;
  height: number;
}

export function genImages(seed: number, count: number, w: number, h: number, levels: number): ImageSet {
  const g = new Lcg(seed);
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const mask = new Uint8Array(w * h);
    const map = new Float32Array(w * h);
    const rects = Math.floor(g.next() * 4);
    for (let r = 0; r < rects; r++) {
      const x0 = Math.floor(g.next() * (w - 10));
      const y0 = Math.floor(g.next() * (h - 10));
      const rw = 1 + Math.floor(g.next() * Math.floor(w / 6));
      const rh = 1 + Math.floor(g.next() * Math.floor(h / 6));
      for (let y = y0; y < Math.min(y0 + rh, h); y++) for (let x = x0; x < Math.min(x0 + rw, w); x++) mask[y * w + x] = 1;
    }
    if (rects > 0) {
      const cx = Math.floor(g.next() * (w - 12));
      const cy = Math.floor(g.next() * (h - 12));
      for (let d = 0; d < 10; d++) mask[(cy + d) * w + cx + d] = 1;
    }
    for (let i = 0; i < w * h; i++) {
      const m = mask[i];
      map[i] = Math.floor((g.next() * 0.6 + m * 0.4 * g.next()) * levels) / levels;
    }
    maps.push(map);
    masks.push(mask);
  }
  return { maps, masks, width: w, height: h };
}

/** A set's maps and masks pooled as the evaluation pools them, with regions and image-level scores. */
export function poolImageSet(set: ImageSet): RegionPixels & { imageScores: number[]; imageLabels: number[] } {
  const n = set.width * set.height;
  const scores = new Float32Array(n * set.maps.length);
  const labels = new Uint8Array(n * set.maps.length);
  const posRegion: number[] = [];
  const regionArea: number[] = [];
  const imageScores: number[] = [];
  const imageLabels: number[] = [];
  set.maps.forEach((map, k) => {
    scores.set(map, k * n);
    labels.set(set.masks[k], k * n);
    const { labels: lab, components } = labelComponents(set.masks[k], set.width, set.height);
    const base = regionArea.length;
    for (const c of components) regionArea.push(c.area);
    for (let i = 0; i < n; i++) if (lab[i] > 0) posRegion.push(base + lab[i] - 1);
    imageScores.push(map.reduce((a, b) => Math.max(a, b), -Infinity));
    imageLabels.push(set.masks[k].some((v) => v !== 0) ? 1 : 0);
  });
  return { scores, labels, posRegion: Uint32Array.from(posRegion), regionArea, imageScores, imageLabels };
}
