/**
 * SAM on the kept detector boxes: one mask per box (single-mask output, as the IAP-AS reference),
 * or what the config's refinement policy makes of each box (sam-refine.ts).
 */
import { clampBox } from '../../image/box.js';
import type { Box, RgbImage } from '../../image/types.js';
import { hashRgb } from '../../image/hash.js';
import type { SamMaskResult, SamModel } from '../../models/sam/model.js';
import { isPlainPolicy, policyNeedsMap, refineMasks, refinePolicyName, type RefinePolicy } from './sam-refine.js';
import { decodeRle, encodeRle, rleSchema } from '../../run-directory/rle.js';
import type { ImageState, Stage } from '../../pipeline/types.js';
import { sha256 } from '../../util/hash.js';

/** One mask per box, as in the IAP-AS reference, or as the policy refines it; the image is encoded once. */
async function segmentBoxes(sam: SamModel, image: RgbImage, boxes: Box[], policy: RefinePolicy | undefined, map: Float32Array | undefined): Promise<SamMaskResult[]> {
  const embedding = await sam.encode(image);
  const prompts = boxes.map((box) => ({ box }));
  return policy ? refineMasks(sam, embedding, prompts, policy, { map }) : sam.decode(embedding, prompts);
}

/**
 * SAM with each kept box as a box prompt, one mask per box (docs/method.md §1 B4). Masks are cached
 * on disk per (encoder/preprocessing/image key, decoder, clamped box, refinement policy), so a
 * threshold sweep that keeps the same boxes runs neither the encoder nor the decoder again.
 *
 * With a refinement policy other than one plain decode, each box goes through it; a policy that
 * reads a map (cascade, multimask=map) takes the image's `rawMap`, which an earlier stage must
 * write (the builder refuses the policy for presets that have none before SAM).
 */
export function samOnBoxes(sam: SamModel, policy?: RefinePolicy): Stage<ImageState> {
  let decoderHash: Promise<string> | undefined;
  const refine = policy && !isPlainPolicy(policy) ? policy : undefined;
  const needsMap = refine !== undefined && policyNeedsMap(refine);
  // The policy's name and parameters join the cache key; a plain decode keeps the key it always had.
  const refineKey = refine ? { ...refine, name: refinePolicyName(refine) } : undefined;
  return {
    name: 'sam',
    reads: needsMap ? ['image', 'samPrompts', 'rawMap'] : ['image', 'samPrompts'],
    writes: ['masks'],
    async run(s, ctx) {
      const image = s.image!;
      const kept = s.samPrompts!.filter((b) => b.kept).map((b) => clampBox([...b.box] as Box, image.width, image.height));
      if (kept.length === 0) return { masks: [] };
      const map = needsMap ? s.rawMap : undefined;
      const cache = ctx.cache;
      if (!cache) return { masks: (await segmentBoxes(sam, image, kept, refine, map)).map((r) => r.mask) };
      decoderHash ??= sam.decoderKey();
      const imageKey = await sam.embeddingKey(hashRgb(image));
      // A map-reading policy's masks depend on the map too.
      const mapKey = map ? sha256(new Uint8Array(map.buffer, map.byteOffset, map.byteLength)) : undefined;
      const maskSchema = rleSchema(image.width, image.height);
      const keys = await Promise.all(
        kept.map(async (box) => cache.key({ image: imageKey, decoder: await decoderHash, box, v: 1, ...(refineKey ? { refine: refineKey, map: mapKey } : {}) })),
      );
      const masks: Array<Uint8Array | undefined> = await Promise.all(
        keys.map(async (k) => {
          const rle = await cache.getJson('sam-mask', k, maskSchema);
          return rle ? decodeRle(rle) : undefined;
        }),
      );
      const missing = masks.flatMap((m, i) => (m ? [] : [i]));
      if (missing.length > 0) {
        const results = await segmentBoxes(sam, image, missing.map((i) => kept[i]), refine, map);
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
