/**
 * Stages shared by every preset: image decoding, SAM on the kept boxes, the score map and its
 * per-image normalisation. Each is a small object naming what it reads and writes.
 */
import { loadRgb } from '../image/io.js';
import { hashRgb, type SamMaskResult, type SamModel } from '../models/sam/model.js';
import { clampBox } from '../image/box.js';
import type { Box, RgbImage } from '../image/types.js';
import { sha256File } from '../util/hash.js';
import { decodeRle, encodeRle, type Rle } from '../pipeline/rle.js';
import { minMaxNormalize, scoreMap } from '../image/masks.js';
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

/** One mask per box (single-mask output), as in the IAP-AS reference; the image is encoded once. */
async function segmentBoxes(sam: SamModel, image: RgbImage, boxes: Box[]): Promise<SamMaskResult[]> {
  return sam.decode(await sam.encode(image), boxes.map((box) => ({ box })));
}

/**
 * SAM with each kept box as a box prompt, one mask per box (docs/method.md §1 B4). Masks are cached
 * on disk per (encoder/preprocessing/image key, decoder, clamped box), so a threshold sweep that
 * keeps the same boxes runs neither the encoder nor the decoder again.
 */
export function samOnBoxes(sam: SamModel): Stage<ImageState> {
  let decoderHash: Promise<string> | undefined;
  return {
    name: 'sam',
    reads: ['image', 'boxes'],
    writes: ['masks'],
    async run(s, ctx) {
      const image = s.image!;
      const kept = s.boxes!.filter((b) => b.kept).map((b) => clampBox([...b.box] as Box, image.width, image.height));
      if (kept.length === 0) return { masks: [] };
      const cache = ctx.cache;
      if (!cache) return { masks: (await segmentBoxes(sam, image, kept)).map((r) => r.mask) };
      decoderHash ??= sha256File(sam.entry.decoderPath);
      const imageKey = await sam.embeddingKey(hashRgb(image));
      const keys = await Promise.all(kept.map(async (box) => cache.key({ image: imageKey, decoder: await decoderHash, box, v: 1 })));
      const masks: Array<Uint8Array | undefined> = await Promise.all(
        keys.map(async (k) => {
          const rle = await cache.getJson<Rle>('sam-mask', k);
          return rle ? decodeRle(rle) : undefined;
        }),
      );
      const missing = masks.flatMap((m, i) => (m ? [] : [i]));
      if (missing.length > 0) {
        const results = await segmentBoxes(sam, image, missing.map((i) => kept[i]));
        await Promise.all(
          missing.map(async (i, j) => {
            masks[i] = results[j].mask;
            await cache.setJson('sam-mask', keys[i], encodeRle(results[j].mask, image.width, image.height));
          }),
        );
      }
      return { masks: masks as Uint8Array[] };
    },
  };
}

/** `sum_i s_i * m_i` over the kept boxes (docs/method.md §1 B5). */
export const scoreStage: Stage<ImageState> = {
  name: 'score',
  reads: ['image', 'boxes', 'masks'],
  writes: ['rawMap'],
  async run(s) {
    const kept = s.boxes!.filter((b) => b.kept);
    return { rawMap: scoreMap(s.masks!, kept.map((b) => b.score), s.image!.width, s.image!.height) };
  },
};

export const normalizeStage: Stage<ImageState> = {
  name: 'normalize',
  reads: ['rawMap'],
  writes: ['map'],
  async run(s) {
    return { map: minMaxNormalize(s.rawMap!) };
  },
};
