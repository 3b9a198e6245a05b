/**
 * Binary masks in result files as run-length encoding (row-major, runs alternate starting with
 * zeros, like COCO's uncompressed RLE but in row order): compact JSON, exact round trip.
 */
import { z } from 'zod';

export interface Rle {
  size: [number, number]; // [height, width]
  counts: number[];
}

/** An RLE of a width x height mask, as a reader of stored masks expects it (runs covering every pixel once). */
export function rleSchema(width: number, height: number): z.ZodType<Rle, z.ZodTypeDef, unknown> {
  return z
    .object({ size: z.tuple([z.literal(height), z.literal(width)]), counts: z.array(z.number().int().nonnegative()) })
    .refine((r) => r.counts.reduce((a, c) => a + c, 0) === width * height, { message: `runs must cover ${width}x${height} pixels` });
}

export function encodeRle(mask: Uint8Array, width: number, height: number): Rle {
  if (mask.length !== width * height) throw new Error(`rle: mask has ${mask.length} pixels, expected ${width * height}`);
  const counts: number[] = [];
  let cur = 0;
  let run = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i] ? 1 : 0;
    if (v !== cur) {
      counts.push(run);
      run = 0;
      cur = v;
    }
    run++;
  }
  counts.push(run);
  return { size: [height, width], counts };
}

export function decodeRle(rle: Rle): Uint8Array {
  const [h, w] = rle.size;
  const out = new Uint8Array(w * h);
  let pos = 0;
  let v = 0;
  for (const c of rle.counts) {
    if (v) out.fill(1, pos, pos + c);
    pos += c;
    v ^= 1;
  }
  if (pos !== w * h) throw new Error(`rle: counts cover ${pos} pixels, expected ${w * h}`);
  return out;
}
