/**
 * The per-image distances of mutual scoring in the model-output cache. The search is about 70 %
 * of `mutual`'s work per image (README), and the keys that only aggregate its distances (keep,
 * keeps, pool_weighting, reference_weight, reference_combine) leave it unchanged, so a rerun or a
 * sweep over those keys reads the distances instead of searching again. The key holds everything
 * the distances depend on: the backbone, the pool members' and references' pixels, the PCA,
 * kernels and pool size, the pass (a masked pool searches other columns) and the compared columns.
 */
import type { FeatureGrid } from '../../models/backbones/types.js';
import type { DiskCache } from '../../util/disk-cache.js';
import { npyParts } from '../../util/npy.js';
import type { MutualPool, PartDistances } from './algorithm.js';

const NAMESPACE = 'mutual-dist';
/** Bumped when the search or the layout of an entry changes. */
export const DISTANCE_VERSION = 1;

/** What the layout of one image's parts is: per part its patch count, and whether it has reference distances. */
export interface PartLayout {
  name: string;
  n: number;
  reference: boolean;
}

/** Values one image's parts take: per part n x poolSize distances, then n reference distances where it has them. */
export function packedLength(layout: readonly PartLayout[], poolSize: number): number {
  return layout.reduce((t, p) => t + p.n * poolSize + (p.reference ? p.n : 0), 0);
}

export function packDistances(parts: readonly PartDistances[], poolSize: number): Float32Array {
  const out = new Float32Array(packedLength(parts.map(layoutOf), poolSize));
  let off = 0;
  for (const p of parts) {
    if (p.dist.length !== p.n * poolSize) throw new Error(`packDistances: part ${p.name} has ${p.dist.length} distances, not ${p.n} x ${poolSize}`);
    out.set(p.dist, off);
    off += p.dist.length;
    if (p.reference) {
      out.set(p.reference, off);
      off += p.n;
    }
  }
  return out;
}

/** The parts back from `packDistances`' values (views into `flat`); `grids[k]` is part k's feature grid. */
export function unpackDistances(flat: Float32Array, layout: readonly PartLayout[], poolSize: number, grids: readonly FeatureGrid[]): PartDistances[] {
  if (flat.length !== packedLength(layout, poolSize)) throw new Error(`unpackDistances: ${flat.length} values for a layout of ${packedLength(layout, poolSize)}`);
  let off = 0;
  return layout.map((p, k) => {
    const dist = flat.subarray(off, (off += p.n * poolSize));
    const reference = p.reference ? flat.subarray(off, (off += p.n)) : null;
    return { name: p.name, grid: grids[k], n: p.n, dist, reference };
  });
}

function layoutOf(p: PartDistances): PartLayout {
  return { name: p.name, n: p.n, reference: p.reference !== null };
}

/** An image's distances from the cache under `key`, or computed (and stored) when absent or of another layout. */
export async function cachedDistances(cache: DiskCache | undefined, key: string, layout: readonly PartLayout[], poolSize: number, grids: readonly FeatureGrid[], compute: () => Promise<PartDistances[]>): Promise<PartDistances[]> {
  if (!cache) return compute();
  const length = packedLength(layout, poolSize);
  const hit = await cache.getNpy(NAMESPACE, key, { dtype: '<f4', shape: [length] });
  if (hit) return unpackDistances(hit.data as Float32Array, layout, poolSize, grids);
  const parts = await compute();
  const flat = packDistances(parts, poolSize);
  if (flat.length === length) await cache.setBytes(NAMESPACE, key, npyParts(flat, [length]));
  return parts;
}

/** The layout of an image's parts against `pool`: layer-major, one part per kernel, as `mutualDistances` returns them. */
export function partLayout(pool: Pick<MutualPool, 'layers' | 'refBlocks' | 'options'>, grids: readonly FeatureGrid[]): { layout: PartLayout[]; grids: FeatureGrid[] } {
  const layout: PartLayout[] = [];
  const partGrids: FeatureGrid[] = [];
  const { kernels, referenceWeight } = pool.options;
  pool.layers.forEach((name, l) => {
    kernels.forEach((k, ki) => {
      layout.push({ name: `${name}/k${k}`, n: grids[l].gridWidth * grids[l].gridHeight, reference: referenceWeight > 0 && (pool.refBlocks[l * kernels.length + ki]?.length ?? 0) > 0 });
      partGrids.push(grids[l]);
    });
  });
  return { layout, grids: partGrids };
}
