/**
 * SAM on the kept detector boxes: one mask per box (single-mask output, as the IAP-AS reference).
 */
import { clampBox } from '../image/box.js';
import type { Box, RgbImage } from '../image/types.js';
import { hashRgb, type SamMaskResult, type SamModel } from '../models/sam/model.js';
import { decodeRle, encodeRle, type Rle } from '../pipeline/rle.js';
import type { ImageState, Stage } from '../pipeline/types.js';
import { sha256File } from '../util/hash.js';

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
