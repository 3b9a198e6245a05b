/**
 * The framing figure (image/framing.ts): an object on a plain ground reads a busy centre against
 * a calm border, a texture that fills the frame reads about as busy at both; a turn of either
 * keeps the verdict, and so do exposure and contrast.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/image/types.js';
import { warpRgb } from '../../src/image/warp.js';
import { framing, framingOfGray } from '../../src/image/framing.js';
import { renderScene } from '../../src/synth/scenes.js';
import { mulberry32 } from '../../src/synth/rng.js';

const SIDE = 160;
const GROUND = 50;

function noiseAt(x: number, y: number, seed: number): number {
  return (x * 13 + y * 7 + seed * 31) % 9;
}

/** A bar with a disc at one end on a faintly noisy ground. */
function object(seed: number): RgbImage {
  const data = new Uint8Array(SIDE * SIDE * 3);
  const c = SIDE / 2;
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      const on = (Math.abs(y - c) < 9 && Math.abs(x - c) < 45) || Math.hypot(x - (c + 40), y - c) < 18;
      data.fill(on ? 210 : GROUND + noiseAt(x, y, seed), (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
    }
  return { width: SIDE, height: SIDE, data };
}

/** Streaks along one axis (degrees) over the whole frame, with a lighting gradient. */
function streaks(seed: number, angle = 0): RgbImage {
  const data = new Uint8Array(SIDE * SIDE * 3);
  const a = (angle * Math.PI) / 180;
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      const across = -x * Math.sin(a) + y * Math.cos(a);
      const v = 120 + 0.2 * x + 35 * Math.sin(across * 0.9 + seed) + 15 * Math.sin(across * 0.37 + 2 * seed) + noiseAt(x, y, seed);
      data.fill(Math.max(0, Math.min(255, Math.round(v))), (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
    }
  return { width: SIDE, height: SIDE, data };
}

const exposed = (img: RgbImage, gain: number, bias: number): RgbImage => ({ ...img, data: img.data.map((v) => Math.max(0, Math.min(255, Math.round(v * gain + bias)))) });

describe('framing', () => {
  it('reads an object on a plain ground as a busy centre and a texture as even', () => {
    expect(framing(object(1)).detail).toBeGreaterThan(2);
    const t = framing(streaks(1)).detail;
    expect(t).toBeGreaterThan(0.7);
    expect(t).toBeLessThan(1.3);
  });

  it('keeps both verdicts when the image is turned', () => {
    for (const angle of [30, 90, 137]) {
      expect(framing(warpRgb(object(2), { angle, dx: 0, dy: 0 }, [GROUND, GROUND, GROUND])).detail).toBeGreaterThan(2);
      // Streaks drawn at the angle: a turned texture still fills the frame.
      const t = framing(streaks(2, angle)).detail;
      expect(t).toBeGreaterThan(0.7);
      expect(t).toBeLessThan(1.3);
    }
  });

  it('does not depend on exposure or contrast', () => {
    const a = framing(object(3)).detail;
    // Within 5 %: the rounding of the re-exposed pixels moves the ground's faint noise a little.
    expect(Math.abs(framing(exposed(object(3), 0.6, 20)).detail / a - 1)).toBeLessThan(0.05);
    const t = framing(streaks(3)).detail;
    expect(Math.abs(framing(exposed(streaks(3), 1.2, -30)).detail / t - 1)).toBeLessThan(0.05);
  });

  it("tells the demo's brushed texture from its disc", () => {
    const toRgb = (s: ReturnType<typeof renderScene>): RgbImage => ({ width: s.width, height: s.height, data: Uint8Array.from(s.rgb, (v) => Math.round(255 * v)) });
    expect(framing(toRgb(renderScene('brushed', mulberry32(5), 128))).detail).toBeLessThan(1.3);
    expect(framing(toRgb(renderScene('weave', mulberry32(5), 128))).detail).toBeLessThan(1.3);
    expect(framing(toRgb(renderScene('disc', mulberry32(5), 128))).detail).toBeGreaterThan(2);
  });

  it('reads a flat image as no object', () => {
    expect(framingOfGray(new Float32Array(64 * 64).fill(7), 64, 64).detail).toBe(0);
  });
});
