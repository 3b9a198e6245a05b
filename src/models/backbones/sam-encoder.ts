/**
 * SAM's own image embeddings as few-shot features. The encoder sees the image with its longest
 * side resized to 1024 and zero padding right/bottom; its 64x64 grid has one cell per 16 px of
 * that frame, so only the top-left ceil(resized/16) cells hold image. Those are kept, optionally
 * average-pooled (see SamEncoderEntry.pool), and mapped back to image pixels via coverWidth/Height.
 */
import type { RgbImage } from '../../image/io.js';
import type { SamModel } from '../sam/model.js';
import { hashJson } from '../../util/hash.js';
import type { SamEncoderEntry } from './entries.js';
import { concatLayersHwc, cropChw } from './features.js';
import type { Backbone, FeatureGrid } from './types.js';

/** Average-pools a CHW grid by an integer factor; a partial last cell averages what it has. */
export function poolChw(src: Float32Array, channels: number, h: number, w: number, f: number): { data: Float32Array; h: number; w: number } {
  if (f <= 1) return { data: src, h, w };
  const H = Math.ceil(h / f);
  const W = Math.ceil(w / f);
  const out = new Float32Array(channels * H * W);
  for (let c = 0; c < channels; c++) {
    for (let Y = 0; Y < H; Y++) {
      for (let X = 0; X < W; X++) {
        let s = 0;
        let n = 0;
        for (let y = Y * f; y < Math.min(h, (Y + 1) * f); y++) {
          for (let x = X * f; x < Math.min(w, (X + 1) * f); x++) {
            s += src[c * h * w + y * w + x];
            n++;
          }
        }
        out[c * H * W + Y * W + X] = s / n;
      }
    }
  }
  return { data: out, h: H, w: W };
}

export class SamEncoderBackbone implements Backbone {
  constructor(
    readonly entry: SamEncoderEntry,
    readonly sam: SamModel,
  ) {}

  get name(): string {
    return this.entry.name;
  }

  get scaleNames(): readonly string[] {
    return [this.entry.name];
  }

  async extractScales(image: RgbImage): Promise<FeatureGrid[]> {
    return [await this.extract(image)];
  }

  async id(): Promise<string> {
    return hashJson({ sam: await this.sam.embeddingKey('features'), pool: this.entry.pool, v: 1 });
  }

  async extract(image: RgbImage): Promise<FeatureGrid> {
    const emb = await this.sam.encode(image);
    const [, channels, h, w] = emb.dims;
    const frame = this.sam.imageSize;
    const cell = frame / w;
    const gh = Math.min(h, Math.ceil(emb.resized.height / cell));
    const gw = Math.min(w, Math.ceil(emb.resized.width / cell));
    const cropped = cropChw(emb.data, channels, h, w, gh, gw);
    const pooled = poolChw(cropped, channels, gh, gw, this.entry.pool);
    const { data, dim } = concatLayersHwc([{ data: pooled.data, channels }], pooled.h, pooled.w);
    // The kept cells span gw*cell resized pixels (pooling may add a partial cell at the end).
    const sx = image.width / emb.resized.width;
    const sy = image.height / emb.resized.height;
    const f = Math.max(1, this.entry.pool);
    return {
      data,
      gridWidth: pooled.w,
      gridHeight: pooled.h,
      dim,
      coverWidth: pooled.w * f * cell * sx,
      coverHeight: pooled.h * f * cell * sy,
    };
  }
}
