/**
 * Reading images from disk: each test image in stage B, the normal references in stage A. With
 * shared resources (a sweep) a decoded image is kept in memory for the next run that reads the
 * same file (keyed by path, modification time and size).
 */
import { stat } from 'node:fs/promises';
import { loadRgb } from '../image/io.js';
import type { RgbImage } from '../image/types.js';
import type { CategoryState, ImageState, Stage, StageContext } from '../pipeline/types.js';

async function readRgb(path: string, ctx: StageContext): Promise<RgbImage> {
  const read = async (): Promise<RgbImage> => {
    const img = await loadRgb(path);
    return { width: img.width, height: img.height, data: img.data };
  };
  if (!ctx.resources) return read();
  const st = await stat(path);
  return ctx.resources.memo(`rgb\0${path}\0${st.mtimeMs}\0${st.size}`, read, (img) => img.data.byteLength);
}

export const decodeImage: Stage<ImageState> = {
  name: 'decode',
  reads: ['sample'],
  writes: ['image'],
  async run(s, ctx) {
    return { image: await readRgb(s.sample.imagePath, ctx) };
  },
};

export const loadReferences: Stage<CategoryState> = {
  name: 'references',
  reads: ['references'],
  writes: ['refImages'],
  async run(s, ctx) {
    const refImages: RgbImage[] = [];
    for (const r of s.references) refImages.push(await readRgb(r.imagePath, ctx));
    return { refImages };
  },
};
