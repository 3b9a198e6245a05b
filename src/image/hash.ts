/** Content hash of a decoded image: the image part of every cache key (embeddings, detector outputs, tags, maps). */
import { createHash } from 'node:crypto';
import type { RgbImage } from './types.js';

// Several stages key the same image (embedding, detector output, masks); an image kept in memory
// between the runs of a sweep is hashed once.
const rgbHashes = new WeakMap<Uint8Array, string>();

/** sha256 of an RGB image's dimensions and bytes: the image part of every embedding key. */
export function hashRgb(image: RgbImage): string {
  const known = rgbHashes.get(image.data);
  const tag = `rgb8:${image.width}x${image.height}:`;
  if (known !== undefined && known.startsWith(tag)) return known.slice(tag.length);
  const h = createHash('sha256').update(tag).update(image.data).digest('hex');
  rgbHashes.set(image.data, tag + h);
  return h;
}
