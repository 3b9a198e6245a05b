import type { RgbImage } from '../image/types.js';
/** Pure helpers on interleaved RGB buffers: the colour type, masks as pictures, resampling. */

/** An RGB colour, 0-255 per channel. */
export type Colour = [number, number, number];

/** Nearest-neighbour resampling of an RGB buffer (figures only: keeps masks crisp). */
export function resizeRgbNearest(img: RgbImage, W: number, H: number): RgbImage {
  if (img.width === W && img.height === H) return img;
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / H));
    for (let x = 0; x < W; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / W));
      const s = 3 * (sy * img.width + sx);
      const d = 3 * (y * W + x);
      out[d] = img.data[s];
      out[d + 1] = img.data[s + 1];
      out[d + 2] = img.data[s + 2];
    }
  }
  return { width: W, height: H, data: out };
}
