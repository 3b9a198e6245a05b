/** Gray copies of an RGB image for the pose and framing estimates (BT.601 luma, box filter). */
import type { RgbImage } from './types.js';

/** Luma of `img` averaged over the source pixels that fall into each cell of a `tw` x `th` grid. */
export function grayBoxMean(img: RgbImage, tw: number, th: number): Float32Array {
  const { width: w, height: h, data } = img;
  const sum = new Float64Array(tw * th);
  const count = new Float64Array(tw * th);
  for (let y = 0; y < h; y++) {
    const ty = Math.min(th - 1, Math.floor((y * th) / h));
    for (let x = 0; x < w; x++) {
      const tx = Math.min(tw - 1, Math.floor((x * tw) / w));
      const i = (y * w + x) * 3;
      sum[ty * tw + tx] += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      count[ty * tw + tx]++;
    }
  }
  const out = new Float32Array(tw * th);
  for (let i = 0; i < out.length; i++) out[i] = sum[i] / count[i];
  return out;
}
