/**
 * Drawn defects. Each first rasterises its shape as a 0/1 mask (intersected with the scene's
 * allowed region) and then changes exactly the masked pixels, so the ground truth is exact: a
 * pixel differs from the clean image if and only if it is in the mask (up to a change too small
 * to survive 8-bit rounding, which the tests bound).
 */
import { fractalNoise } from './noise.js';
import { randInt, uniform, type Rng } from './rng.js';
import type { Scene } from './scenes.js';

export const DEFECT_KINDS = ['scratch', 'hole', 'stain'] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

function distToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const vx = bx - ax;
  const vy = by - ay;
  const len2 = vx * vx + vy * vy;
  const t = len2 > 0 ? Math.min(1, Math.max(0, ((px - ax) * vx + (py - ay) * vy) / len2)) : 0;
  return Math.hypot(px - (ax + t * vx), py - (ay + t * vy));
}

/** A random pixel of the allowed region at least `margin` px from the border. */
function pickCentre(rng: Rng, scene: Scene, margin: number): [number, number] {
  const { width, height, region } = scene;
  for (let tries = 0; tries < 1000; tries++) {
    const x = uniform(rng, margin, width - margin);
    const y = uniform(rng, margin, height - margin);
    if (region[Math.floor(y) * width + Math.floor(x)]) return [x, y];
  }
  throw new Error('synthetic defect: no room in the allowed region');
}

function scratchShape(rng: Rng, scene: Scene): Uint8Array {
  const { width: w, height: h } = scene;
  const size = Math.min(w, h);
  const segments = randInt(rng, 2, 4);
  let [x, y] = pickCentre(rng, scene, size * 0.2);
  let dir = uniform(rng, 0, Math.PI * 2);
  const pts: Array<[number, number]> = [[x, y]];
  for (let s = 0; s < segments; s++) {
    const len = size * uniform(rng, 0.07, 0.12);
    dir += uniform(rng, -0.6, 0.6);
    x = Math.min(w - 3, Math.max(3, x + Math.cos(dir) * len));
    y = Math.min(h - 3, Math.max(3, y + Math.sin(dir) * len));
    pts.push([x, y]);
  }
  const half = Math.max(1, size * uniform(rng, 0.006, 0.012));
  const mask = new Uint8Array(w * h);
  for (let py = 0; py < h; py++) {
    for (let px = 0; px < w; px++) {
      const cx = px + 0.5;
      const cy = py + 0.5;
      for (let s = 0; s + 1 < pts.length; s++) {
        if (distToSegment(cx, cy, pts[s][0], pts[s][1], pts[s + 1][0], pts[s + 1][1]) <= half) {
          mask[py * w + px] = 1;
          break;
        }
      }
    }
  }
  return mask;
}

/** A blob whose radius wobbles with the angle: r(a) = R (1 + sum_k c_k sin(k a + p_k)). */
function blobShape(rng: Rng, scene: Scene, rMin: number, rMax: number, wobble: number): Uint8Array {
  const { width: w, height: h } = scene;
  const size = Math.min(w, h);
  const R = size * uniform(rng, rMin, rMax);
  const [cx, cy] = pickCentre(rng, scene, R * 1.4 + 2);
  const aspect = uniform(rng, 0.7, 1.3);
  const rot = uniform(rng, 0, Math.PI);
  const harmonics = [2, 3, 5].map((k) => ({ k, c: uniform(rng, 0, wobble), p: uniform(rng, 0, Math.PI * 2) }));
  const mask = new Uint8Array(w * h);
  const reach = Math.ceil(R * 1.3 * (1 + 3 * wobble)) + 1;
  for (let py = Math.max(0, Math.floor(cy - reach)); py < Math.min(h, Math.ceil(cy + reach)); py++) {
    for (let px = Math.max(0, Math.floor(cx - reach)); px < Math.min(w, Math.ceil(cx + reach)); px++) {
      const dx = px + 0.5 - cx;
      const dy = py + 0.5 - cy;
      const u = dx * Math.cos(rot) + dy * Math.sin(rot);
      const v = (-dx * Math.sin(rot) + dy * Math.cos(rot)) * aspect;
      const a = Math.atan2(v, u);
      let r = R;
      for (const hm of harmonics) r += R * hm.c * Math.sin(hm.k * a + hm.p);
      if (Math.hypot(u, v) <= r) mask[py * w + px] = 1;
    }
  }
  return mask;
}

function intersect(mask: Uint8Array, region: Uint8Array): number {
  let area = 0;
  for (let i = 0; i < mask.length; i++) {
    mask[i] = mask[i] & region[i];
    area += mask[i];
  }
  return area;
}

/** Shifts each masked pixel towards `target` by `alpha` (0..1), per pixel alpha allowed. */
function paint(scene: Scene, mask: Uint8Array, colour: (i: number) => [number, number, number], alpha: (i: number) => number): void {
  const { rgb } = scene;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const c = colour(i);
    const a = alpha(i);
    for (let k = 0; k < 3; k++) rgb[3 * i + k] = rgb[3 * i + k] * (1 - a) + c[k] * a;
  }
}

/**
 * Draws one defect of `kind` on the scene (in place) and returns its mask. Retries a shape that
 * the region clips to almost nothing.
 */
export function drawDefect(kind: DefectKind, rng: Rng, scene: Scene): Uint8Array {
  const { width: w, height: h } = scene;
  const minArea = Math.max(6, Math.round(w * h * 0.0008));
  for (let attempt = 0; attempt < 20; attempt++) {
    let mask: Uint8Array;
    if (kind === 'scratch') mask = scratchShape(rng, scene);
    else if (kind === 'hole') mask = blobShape(rng, scene, 0.035, 0.06, 0.08);
    else mask = blobShape(rng, scene, 0.05, 0.09, 0.2);
    if (intersect(mask, scene.region) < minArea) continue;
    if (kind === 'scratch') {
      // Bright (a fresh groove catching light) or dark (dirt in it); always far from the surface value.
      const bright = rng() < 0.5;
      const c: [number, number, number] = bright ? [0.97, 0.97, 0.95] : [0.04, 0.04, 0.05];
      paint(scene, mask, () => c, () => 0.85);
    } else if (kind === 'hole') {
      const depth = fractalNoise(rng, w, h, 4, 2);
      paint(scene, mask, (i) => [0.03 + 0.05 * depth[i], 0.03 + 0.04 * depth[i], 0.03 + 0.03 * depth[i]], () => 0.92);
    } else {
      const tint: [number, number, number] = rng() < 0.5 ? [0.45, 0.22, 0.08] : [0.15, 0.3, 0.12];
      const n = fractalNoise(rng, w, h, Math.max(2, w / 24), 3);
      paint(scene, mask, () => tint, (i) => 0.55 + 0.3 * n[i]);
    }
    return mask;
  }
  throw new Error(`synthetic defect '${kind}': could not place it in the allowed region`);
}
