/** Reading images from disk: each test image in stage B, the normal references in stage A. */
import { loadRgb } from '../image/io.js';
import type { RgbImage } from '../image/types.js';
import type { CategoryState, ImageState, Stage } from '../pipeline/types.js';

export const decodeImage: Stage<ImageState> = {
  name: 'decode',
  reads: ['sample'],
  writes: ['image'],
  async run(s) {
    const img = await loadRgb(s.sample.imagePath);
    return { image: { width: img.width, height: img.height, data: img.data } };
  },
};

export const loadReferences: Stage<CategoryState> = {
  name: 'references',
  reads: ['references'],
  writes: ['refImages'],
  async run(s) {
    const refImages: RgbImage[] = [];
    for (const r of s.references) {
      const img = await loadRgb(r.imagePath);
      refImages.push({ width: img.width, height: img.height, data: img.data });
    }
    return { refImages };
  },
};
