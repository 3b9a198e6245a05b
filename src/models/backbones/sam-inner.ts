/**
 * Feature scales from inside the SAM encoder (SamInnerEntry). One encoder pass per image, through
 * SamModel.encodeWithInner, gives every scale's tensor and SAM's embedding (which the refinement
 * of the same image then finds in SAM's memory and disk caches).
 *
 * Per scale: the cells over the image (the encoder sees the image with its longest side resized
 * to the frame and zero padding right/bottom: a grid of stride s keeps ceil(resized/s) cells),
 * average-pooled by `pool`, local mean over (2r+1)^2 cells with cells outside the image left out,
 * L2 per cell; one small onnxruntime graph per (layout, pool, radius) does all four steps
 * (scale-grid-ort.ts). The grid covers gw * s * pool resized pixels, mapped back to image pixels as the
 * `sam` backbone does (coverWidth/Height; a pooled last cell may reach into the padding).
 *
 * With a DiskCache the finished grids are cached by content (SAM model, the scale's settings and
 * the image hash, one entry per scale, namespace 'features'), as SAM's embeddings are: a sweep that changes only thresholds
 * or the map's smoothing runs no encoder (the embedding the refinement needs is in SAM's cache).
 */
import type { RgbImage } from '../../image/types.js';
import { hashRgb } from '../../image/hash.js';
import type { EncoderTensor, SamModel } from '../sam/model.js';
import { resizedShape } from '../sam/transforms.js';
import type { DiskCache } from '../../util/disk-cache.js';
import { hashJson } from '../../util/hash.js';
import { npyParts } from '../../util/npy.js';
import { SAM_EMBEDDING_TENSOR, type EncoderScale, type SamInnerEntry } from './entries.js';
import type { HwcGrid } from './features.js';
import { scaleGridOrt } from './scale-grid-ort.js';
import type { Backbone, FeatureGrid } from './types.js';

/** The cells of a scale's tensor that cover the resized image (the frame is padded right/bottom). */
export function scaleCrop(scale: EncoderScale, resized: { width: number; height: number }): { gh: number; gw: number } {
  return { gh: Math.ceil(resized.height / scale.stride), gw: Math.ceil(resized.width / scale.stride) };
}

/** Throws unless the tensor has the scale's layout and covers the crop. */
export function checkScaleTensor(t: EncoderTensor, scale: EncoderScale, gh: number, gw: number): void {
  if (scale.layout === 'tokens') {
    const [, n] = t.dims;
    const w = Math.round(Math.sqrt(n));
    if (t.dims.length !== 3 || w * w !== n || gh > w || gw > w) throw new Error(`scale '${scale.name}': expected square [1, H*W, C] tokens covering ${gw}x${gh} cells, got [${t.dims.join(', ')}]`);
  } else {
    const [, , h, w] = t.dims;
    if (t.dims.length !== 4 || gh > h || gw > w) throw new Error(`scale '${scale.name}': expected [1, C, H, W] covering ${gw}x${gh} cells, got [${t.dims.join(', ')}]`);
  }
}

/**
 * Feature grid of one scale from its encoder tensor: crop, pool, local mean and L2 per cell as one
 * onnxruntime graph (scale-grid-ort.ts; its plain-JS reference is in the tests).
 */
export async function scaleGrid(
  t: EncoderTensor,
  scale: EncoderScale,
  image: { width: number; height: number },
  resized: { width: number; height: number },
): Promise<FeatureGrid> {
  const { gh, gw } = scaleCrop(scale, resized);
  checkScaleTensor(t, scale, gh, gw);
  const g = await scaleGridOrt(t.data, t.dims, scale, gh, gw);
  return withGeometry(g, scale, image, resized);
}

/** A scale's HWC grid as a FeatureGrid: the image pixels it covers follow from stride and pool. */
export function withGeometry(g: HwcGrid, scale: EncoderScale, image: { width: number; height: number }, resized: { width: number; height: number }): FeatureGrid {
  const cell = scale.stride * scale.pool;
  return {
    data: g.data,
    gridWidth: g.w,
    gridHeight: g.h,
    dim: g.c,
    coverWidth: g.w * cell * (image.width / resized.width),
    coverHeight: g.h * cell * (image.height / resized.height),
    // The grid graph's last step is the L2 normalisation of each cell.
    unitRows: true,
  };
}

const FEATURE_NAMESPACE = 'features';

export class SamInnerBackbone implements Backbone {
  private readonly tensors: string[];

  constructor(
    readonly entry: SamInnerEntry,
    readonly sam: SamModel,
    private readonly cache?: DiskCache,
  ) {
    // The embedding is the encoder's own output: every pass returns it, no tensor to expose.
    this.tensors = [...new Set(entry.scales.map((s) => s.tensor).filter((t) => t !== SAM_EMBEDDING_TENSOR))];
    if (!entry.scales.some((s) => s.name === entry.primary)) throw new Error(`backbone '${entry.name}': primary scale '${entry.primary}' is not one of its scales`);
  }

  get name(): string {
    return this.entry.name;
  }

  /** Opens the encoder copy with this backbone's tensors as outputs (done by loadBackbone). */
  async open(): Promise<this> {
    await this.sam.openInnerEncoder(this.tensors);
    return this;
  }

  get scaleNames(): readonly string[] {
    return this.entry.scales.map((s) => s.name);
  }

  async id(): Promise<string> {
    return hashJson({ sam: await this.sam.embeddingKey('features'), scales: this.entry.scales, v: 1 });
  }

  async extractScales(image: RgbImage): Promise<FeatureGrid[]> {
    const scales = this.entry.scales;
    const resized = resizedShape(image.width, image.height, this.sam.imageSize);
    let keys: string[] = [];
    const grids: Array<FeatureGrid | undefined> = scales.map(() => undefined);
    if (this.cache) {
      // Keyed per scale, not per backbone: backbones that share a scale (minisam-ms and
      // minisam-ms-emb share four) share its cached grids, so a sweep over them runs one encoder pass.
      const sam = await this.sam.embeddingKey('features');
      const imageHash = hashRgb(image);
      keys = scales.map((s) => hashJson({ sam, scale: s, image: imageHash, v: 2 }));
      const hits = await Promise.all(keys.map((k) => this.cache!.getNpy(FEATURE_NAMESPACE, k, { dtype: '<f4', shape: (s) => s.length === 3 })));
      hits.forEach((a, i) => {
        if (a) grids[i] = withGeometry({ data: a.data as Float32Array, h: a.shape[0], w: a.shape[1], c: a.shape[2] }, scales[i], image, resized);
      });
      if (grids.every((g) => g)) return grids as FeatureGrid[];
    }
    const missing = scales.map((_, i) => i).filter((i) => !grids[i]);
    // Only embedding scales missing: SAM's embedding cache (or a plain pass) has them.
    const embeddingOnly = missing.every((i) => scales[i].tensor === SAM_EMBEDDING_TENSOR);
    const { embedding, inner } = embeddingOnly ? { embedding: await this.sam.encode(image), inner: {} as Record<string, never> } : await this.sam.encodeWithInner(image, this.tensors);
    for (const i of missing) {
      const s = scales[i];
      grids[i] = await scaleGrid(s.tensor === SAM_EMBEDDING_TENSOR ? embedding : inner[s.tensor], s, image, resized);
      // Written from the grid's own buffer (no copy): FeatureGrid data is not changed after extraction.
      if (this.cache) await this.cache.setBytes(FEATURE_NAMESPACE, keys[i], npyParts(grids[i]!.data, [grids[i]!.gridHeight, grids[i]!.gridWidth, grids[i]!.dim]));
    }
    return grids as FeatureGrid[];
  }

  async extract(image: RgbImage): Promise<FeatureGrid> {
    const grids = await this.extractScales(image);
    return grids[this.entry.scales.findIndex((s) => s.name === this.entry.primary)];
  }
}
