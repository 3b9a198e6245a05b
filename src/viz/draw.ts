import type { RgbImage } from '../image/types.js';
/** Pure drawing on interleaved RGB buffers: mask outlines, boxes, blending. */

/** An RGB colour, 0-255 per channel. */
export type Colour = [number, number, number];

/** Mask pixels with at least one 4-neighbour outside the mask (or on the image border). */
export function maskOutline(mask: ArrayLike<number>, width: number, height: number, thickness = 1): Uint8Array {
  let edge = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width]) edge[i] = 1;
    }
  }
  for (let t = 1; t < thickness; t++) {
    // Grow inwards so the outline never covers pixels outside the mask.
    const grown = edge.slice();
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!mask[i] || edge[i]) continue;
        if ((x > 0 && edge[i - 1]) || (x < width - 1 && edge[i + 1]) || (y > 0 && edge[i - width]) || (y < height - 1 && edge[i + width])) grown[i] = 1;
      }
    }
    edge = grown;
  }
  return edge;
}

export function paintPixels(img: RgbImage, where: ArrayLike<number>, colour: Colour, alpha = 1): void {
  const d = img.data;
  for (let i = 0; i < img.width * img.height; i++) {
    if (!where[i]) continue;
    for (let c = 0; c < 3; c++) d[3 * i + c] = Math.round(d[3 * i + c] * (1 - alpha) + colour[c] * alpha);
  }
}

/** Rectangle outline; box [x0, y0, x1, y1] with x1/y1 exclusive, clamped to the image. */
export function drawBox(img: RgbImage, box: readonly number[], colour: Colour, thickness = 2): void {
  const { width, height, data } = img;
  const x0 = Math.max(0, Math.floor(box[0]));
  const y0 = Math.max(0, Math.floor(box[1]));
  const x1 = Math.min(width - 1, Math.ceil(box[2]) - 1);
  const y1 = Math.min(height - 1, Math.ceil(box[3]) - 1);
  if (x1 < x0 || y1 < y0) return;
  const set = (x: number, y: number) => {
    const i = 3 * (y * width + x);
    data[i] = colour[0];
    data[i + 1] = colour[1];
    data[i + 2] = colour[2];
  };
  for (let t = 0; t < thickness; t++) {
    for (let x = x0; x <= x1; x++) {
      if (y0 + t <= y1) set(x, y0 + t);
      if (y1 - t >= y0) set(x, y1 - t);
    }
    for (let y = y0; y <= y1; y++) {
      if (x0 + t <= x1) set(x0 + t, y);
      if (x1 - t >= x0) set(x1 - t, y);
    }
  }
}

/** A small filled square marker centred on (x, y). */
export function drawPoint(img: RgbImage, x: number, y: number, colour: Colour, radius = 2): void {
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const px = Math.floor(x) + dx;
      const py = Math.floor(y) + dy;
      if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
      img.data.set(colour, 3 * (py * img.width + px));
    }
  }
}

/** a * (1 - alpha) + b * alpha, per byte. */
export function blend(a: Uint8Array, b: Uint8Array, alpha: number): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.round(a[i] * (1 - alpha) + b[i] * alpha);
  return out;
}

/** Grey mask (0/1) -> RGB, white foreground. */
export function maskToRgb(mask: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(mask.length * 3);
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.fill(255, 3 * i, 3 * i + 3);
  return out;
}

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
