/**
 * SAM masks of the few-shot prompts through the model-output cache: a mask is a pure function of
 * (encoder + preprocessing + image, decoder, prompt), so a sweep over thresholds decodes each
 * distinct prompt once, and an image whose prompts were all decoded before needs no embedding.
 */
import type { RgbImage } from '../../image/types.js';
import { hashRgb } from '../../image/hash.js';
import type { SamModel } from '../../models/sam/model.js';
import type { SamPrompt } from '../../models/sam/transforms.js';
import { z } from 'zod';
import { decodeRle, encodeRle, rleSchema } from '../../run-directory/rle.js';
import type { DiskCache } from '../../util/disk-cache.js';

export interface PromptMask {
  /** 0/1 at image size. */
  mask: Uint8Array;
  /** The decoder's predicted IoU. */
  iou: number;
}

const NAMESPACE = 'sam-prompt-mask';

export async function samPromptMasks(sam: SamModel, image: RgbImage, prompts: SamPrompt[], cache?: DiskCache): Promise<PromptMask[]> {
  if (prompts.length === 0) return [];
  const decodeAll = async (ps: SamPrompt[]) => (await sam.decode(await sam.encode(image), ps)).map((r) => ({ mask: r.mask, iou: r.iou }));
  // A dense prompt (maskInput) is not part of the key: such prompts are always decoded.
  if (!cache || prompts.some((p) => p.maskInput)) return decodeAll(prompts);
  const imageKey = await sam.embeddingKey(hashRgb(image));
  const decoder = await sam.decoderKey();
  const keys = prompts.map((p) => cache.key({ v: 1, image: imageKey, decoder, box: p.box ?? null, points: p.points ?? null, labels: p.labels ?? null }));
  const entry = z.object({ rle: rleSchema(image.width, image.height), iou: z.number() });
  const out: Array<PromptMask | undefined> = await Promise.all(
    keys.map(async (k) => {
      const hit = await cache.getJson(NAMESPACE, k, entry);
      return hit ? { mask: decodeRle(hit.rle), iou: hit.iou } : undefined;
    }),
  );
  const missing = out.flatMap((m, i) => (m ? [] : [i]));
  if (missing.length > 0) {
    const results = await decodeAll(missing.map((i) => prompts[i]));
    await Promise.all(
      missing.map(async (i, j) => {
        out[i] = results[j];
        await cache.setJson(NAMESPACE, keys[i], { rle: encodeRle(results[j].mask, image.width, image.height), iou: results[j].iou });
      }),
    );
  }
  return out as PromptMask[];
}
