/**
 * The one place where SAM coordinates change frame. SAM's encoder sees the image with its
 * longest side resized to 1024 (segment-anything's ResizeLongestSide: newh = int(h*scale + 0.5))
 * and zero padding on the right and bottom; the prompt decoder takes point coordinates in that
 * resized frame. Everything outside this file speaks original-image pixels.
 */
import { clampBox } from '../../image/box.js';
import type { Box, Point } from '../../image/types.js';

export const SAM_IMAGE_SIZE = 1024;
export const SAM_LOW_RES_SIZE = 256;

/** Point labels of the SAM prompt encoder. */
export const LABEL_PADDING = -1;
export const LABEL_NEGATIVE = 0;
export const LABEL_POSITIVE = 1;
export const LABEL_BOX_TOP_LEFT = 2;
export const LABEL_BOX_BOTTOM_RIGHT = 3;

/** Size of the image after its longest side is resized to `longSide` (before padding). */
export function resizedShape(width: number, height: number, longSide = SAM_IMAGE_SIZE): { width: number; height: number } {
  if (!(width > 0 && height > 0)) throw new Error(`resizedShape: bad image size ${width}x${height}`);
  const scale = longSide / Math.max(width, height);
  return { width: Math.floor(width * scale + 0.5), height: Math.floor(height * scale + 0.5) };
}

/**
 * Original pixel coordinates -> resized-frame coordinates. As segment-anything's apply_coords,
 * x and y are scaled separately by new/old size, so rounding of the resized shape is honoured.
 */
export function toModelCoords(x: number, y: number, width: number, height: number, longSide = SAM_IMAGE_SIZE): [number, number] {
  const r = resizedShape(width, height, longSide);
  return [x * (r.width / width), y * (r.height / height)];
}


/** A prompt in original-image pixels (src/image/types.ts). At least one of box / points / maskInput. */
export interface SamPrompt {
  /** Clamped to the image before use. */
  box?: Box;
  points?: Point[];
  /** One label per point: 1 foreground, 0 background. Defaults to all 1. */
  labels?: number[];
  /** Low-resolution logits (256x256) of a previous decode, fed back as a dense prompt. */
  maskInput?: Float32Array;
}

/**
 * The decoder's `point_coords` [1,N,2] and `point_labels` [1,N] for one prompt. As in the
 * segment-anything ONNX example: points first, then the box as two corner points (labels 2, 3);
 * with no box a padding point (0,0) with label -1 is appended.
 */
export function encodePrompt(prompt: SamPrompt, width: number, height: number, longSide = SAM_IMAGE_SIZE): { coords: Float32Array; labels: Float32Array; count: number } {
  const points = prompt.points ?? [];
  if (prompt.labels && prompt.labels.length !== points.length) {
    throw new Error(`SAM prompt: ${points.length} points but ${prompt.labels.length} labels`);
  }
  if (!prompt.box && points.length === 0 && !prompt.maskInput) throw new Error('SAM prompt: needs a box, points or a mask input');
  const count = points.length + (prompt.box ? 2 : 1);
  const coords = new Float32Array(count * 2);
  const labels = new Float32Array(count);
  points.forEach(([x, y], i) => {
    const [mx, my] = toModelCoords(x, y, width, height, longSide);
    coords[2 * i] = mx;
    coords[2 * i + 1] = my;
    labels[i] = prompt.labels ? prompt.labels[i] : LABEL_POSITIVE;
  });
  const k = points.length;
  if (prompt.box) {
    const [x1, y1, x2, y2] = clampBox(prompt.box, width, height);
    const a = toModelCoords(x1, y1, width, height, longSide);
    const b = toModelCoords(x2, y2, width, height, longSide);
    coords.set([a[0], a[1], b[0], b[1]], 2 * k);
    labels[k] = LABEL_BOX_TOP_LEFT;
    labels[k + 1] = LABEL_BOX_BOTTOM_RIGHT;
  } else {
    labels[k] = LABEL_PADDING; // coords stay (0, 0)
  }
  return { coords, labels, count };
}
