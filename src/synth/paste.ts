/**
 * Synthetic anomalies on a real normal image: the same drawn defects as the generated datasets
 * (defects.ts: scratch, hole, stain, round-robin), painted onto a copy of the image, with their
 * exact 0/1 mask. A pure function of (image, count, seed): `iapas tune` re-draws an image's
 * defects on every visit instead of keeping them, and a resumed run sees the same ones.
 */
import type { RgbImage } from '../image/types.js';
import { DEFECT_KINDS, drawDefect, type DefectKind } from './defects.js';
import { deriveSeed, mulberry32 } from './rng.js';

/** What the provenance records of the generator. */
export const PASTE_GENERATOR = 'src/synth/paste.ts (drawn defects of src/synth/defects.ts)';

export interface PastedDefects {
  image: RgbImage;
  /** 0/1, width x height: the union of the defects' pixels. */
  mask: Uint8Array;
  kinds: DefectKind[];
}

export function pasteDefects(image: RgbImage, count: number, seed: number, kinds: readonly DefectKind[] = DEFECT_KINDS): PastedDefects {
  const { width, height, data } = image;
  if (data.length !== width * height * 3) throw new Error(`synthetic defects: expected an RGB image of ${width}x${height}, got ${data.length} bytes`);
  const rgb = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) rgb[i] = data[i] / 255;
  // A real photo has no known part mask: a defect may go anywhere.
  const scene = { width, height, rgb, region: new Uint8Array(width * height).fill(1) };
  const mask = new Uint8Array(width * height);
  const drawn: DefectKind[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length];
    const m = drawDefect(kind, mulberry32(deriveSeed(seed, 'paste', i)), scene);
    for (let p = 0; p < m.length; p++) mask[p] |= m[p];
    drawn.push(kind);
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < rgb.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, rgb[i])) * 255);
  return { image: { width, height, data: out }, mask, kinds: drawn };
}
