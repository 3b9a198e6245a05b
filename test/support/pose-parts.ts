/** Generated objects for the pose rules' tests: a bar with a disc at its right end on a plain ground. */
import type { RgbImage } from '../../src/image/types.js';
import { warpRgb } from '../../src/image/warp.js';

export const SIDE = 160;
export const GROUND = 50;

/** A bar with a disc at its right end; `seed` moves a few pixels of noise so no two are alike. */
export function part(seed: number): RgbImage {
  const data = new Uint8Array(SIDE * SIDE * 3);
  const c = SIDE / 2;
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      const on = (Math.abs(y - c) < 9 && Math.abs(x - c) < 45) || Math.hypot(x - (c + 40), y - c) < 18;
      data.fill(on ? 210 : GROUND + ((x * 13 + y * 7 + seed * 31) % 9), (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
    }
  return { width: SIDE, height: SIDE, data };
}

/** `img` turned by `angle` degrees (and shifted), the uncovered corners filled with the ground. */
export const turned = (img: RgbImage, angle: number, dx = 0, dy = 0) => warpRgb(img, { angle, dx, dy }, [GROUND, GROUND, GROUND]);

/** Streaks along one axis over the whole frame (a texture): references that agree on their axis, as 'turn' reads them. */
export function streaks(seed: number, angle = 0): RgbImage {
  const data = new Uint8Array(SIDE * SIDE * 3);
  const a = (angle * Math.PI) / 180;
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) {
      const across = -x * Math.sin(a) + y * Math.cos(a);
      const v = 120 + 35 * Math.sin(across * 0.9 + seed) + 15 * Math.sin(across * 0.37 + 2 * seed) + ((x * 13 + y * 7 + seed * 31) % 9);
      data.fill(Math.round(v), (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
    }
  return { width: SIDE, height: SIDE, data };
}
