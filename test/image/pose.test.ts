/**
 * Pose estimates and the warps they feed, on generated images: an object whose two ends differ
 * (a bar with a disc at one end) and an oriented texture (stripes), turned and shifted by
 * warpRgb with known parameters. The estimate must recover the turn (objects: the full turn and
 * the shift; textures: the axis), and warps must round-trip.
 */
import { describe, expect, it } from 'vitest';
import { fft2 } from '../../src/image/fft.js';
import { estimatePose, normaliseAngle, poseReference } from '../../src/image/pose.js';
import type { RgbImage } from '../../src/image/types.js';
import { composeWarps, invertWarp, warpRgb, warpScalar, type Warp } from '../../src/image/warp.js';

const SIDE = 192;

function paint(fn: (x: number, y: number) => number): RgbImage {
  const data = new Uint8Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) data.fill(Math.max(0, Math.min(255, Math.round(fn(x, y)))), (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
  return { width: SIDE, height: SIDE, data };
}

/** A horizontal bar with a disc at its right end and a notch near its left end, on a gray ground. */
const object = paint((x, y) => {
  const c = SIDE / 2;
  const bar = Math.abs(y - c) < 10 && Math.abs(x - c) < 50;
  const disc = Math.hypot(x - (c + 45), y - c) < 20;
  const notch = Math.hypot(x - (c - 40), y - (c - 8)) < 5;
  return bar || disc ? (notch ? 120 : 220) : 60;
});

/** Stripes at 20 degrees with a slow ripple across them. */
const texture = paint((x, y) => {
  const t = (20 * Math.PI) / 180;
  const u = x * Math.cos(t) - y * Math.sin(t);
  return 128 + 70 * Math.sin(u / 2.5) + 20 * Math.sin((x + 2 * y) / 17);
});

const angleGap = (a: number, b: number, period = 360) => Math.abs(normaliseAngle(((a - b) * 360) / period)) * (period / 360);

describe('fft2', () => {
  it('matches the direct transform and inverts', () => {
    const n = 8;
    const re = Float64Array.from({ length: n * n }, (_, i) => Math.sin(i * 1.7) + (i % 3));
    const im = new Float64Array(n * n);
    const r0 = re.slice();
    fft2(re, im, n);
    for (const [u, v] of [[0, 0], [1, 2], [5, 7], [3, 3]]) {
      let sr = 0;
      let si = 0;
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          const a = (-2 * Math.PI * (u * x + v * y)) / n;
          sr += r0[y * n + x] * Math.cos(a);
          si += r0[y * n + x] * Math.sin(a);
        }
      expect(re[v * n + u]).toBeCloseTo(sr, 9);
      expect(im[v * n + u]).toBeCloseTo(si, 9);
    }
    fft2(re, im, n, true);
    for (let i = 0; i < n * n; i++) expect(re[i]).toBeCloseTo(r0[i], 9);
  });

  it('refuses a side that is not a power of two', () => {
    expect(() => fft2(new Float64Array(36), new Float64Array(36), 6)).toThrow(/power of two/);
  });
});

describe('estimatePose', () => {
  const ref = poseReference(object);
  for (const p of [
    { angle: 37, dx: 12, dy: -8 },
    { angle: -120, dx: -10, dy: 6 },
    { angle: 165, dx: 0, dy: 14 },
    { angle: -70, dx: 8, dy: 8 },
  ] satisfies Warp[]) {
    it(`recovers the full turn and the shift of an object turned by ${p.angle} degrees`, () => {
      const e = estimatePose(poseReference(warpRgb(object, p, [60, 60, 60])), ref);
      expect(angleGap(e.warp.angle, p.angle)).toBeLessThanOrEqual(3);
      // One thumbnail pixel is 1.5 image pixels here.
      expect(Math.abs(e.warp.dx - p.dx)).toBeLessThanOrEqual(4);
      expect(Math.abs(e.warp.dy - p.dy)).toBeLessThanOrEqual(4);
    });
  }

  it('reads no turn on the image itself', () => {
    const e = estimatePose(ref, ref);
    expect(angleGap(e.warp.angle, 0)).toBeLessThanOrEqual(1);
    expect(Math.hypot(e.warp.dx, e.warp.dy)).toBeLessThanOrEqual(1);
  });

  it("recovers an oriented texture's turn up to a half turn", () => {
    const tref = poseReference(texture);
    for (const angle of [25, -60, 100]) {
      const e = estimatePose(poseReference(warpRgb(texture, { angle, dx: 0, dy: 0 }, 'reflect')), tref);
      expect(angleGap(e.warp.angle, angle, 180)).toBeLessThanOrEqual(3);
    }
  });
});

describe('warps', () => {
  const w = 64;
  const smooth = Float32Array.from({ length: w * w }, (_, i) => Math.sin((i % w) / 7) + Math.cos(Math.floor(i / w) / 9));
  const interior = (f: (i: number) => void) => {
    for (let y = 16; y < 48; y++) for (let x = 16; x < 48; x++) f(y * w + x);
  };

  it('warp then its inverse gives the map back inside the canvas', () => {
    const p: Warp = { angle: 33, dx: 3.5, dy: -2 };
    const back = warpScalar(warpScalar(smooth, w, w, p), w, w, invertWarp(p));
    interior((i) => expect(Math.abs(back[i] - smooth[i])).toBeLessThan(0.02));
  });

  it('a composed warp equals the two warps in turn', () => {
    const a: Warp = { angle: 20, dx: 4, dy: 1 };
    const b: Warp = { angle: -65, dx: -2, dy: 3 };
    const twice = warpScalar(warpScalar(smooth, w, w, a), w, w, b);
    const once = warpScalar(smooth, w, w, composeWarps(a, b));
    interior((i) => expect(Math.abs(twice[i] - once[i])).toBeLessThan(0.02));
  });

  it('warpScalar moves values as warpRgb moves pixels', () => {
    const p: Warp = { angle: 90, dx: 5, dy: 0 };
    const img = paint((x, y) => (x * 3 + y) % 256);
    const gray = Float32Array.from({ length: SIDE * SIDE }, (_, i) => img.data[i * 3]);
    const a = warpRgb(img, p, 'reflect');
    const b = warpScalar(gray, SIDE, SIDE, p);
    for (let i = 0; i < SIDE * SIDE; i += 97) expect(Math.abs(a.data[i * 3] - b[i])).toBeLessThanOrEqual(1);
  });
});
