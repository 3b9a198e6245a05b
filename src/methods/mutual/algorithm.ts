/**
 * Mutual scoring (preset `mutual`): zero-shot maps with no normal references and no text, after
 * MuSc's idea (Li et al., ICLR 2024). Most of any place of the images of a category is normal in
 * most images, so a patch that finds no close match in most of the other test images of its
 * category is anomalous. Labels and masks are never read.
 *
 * Per category, a comparison pool of test images (all of them when the category has at most
 * max_compared + 1, else a seeded sample of max_compared + 1): per layer L of the backbone a PCA
 * fitted on the pool's own patches (transductive, unlabelled), then per aggregation kernel k
 * (PatchCore's local mean over k x k cells, k in 1, 3, 5) the pool's patch sets.
 * Per image i, layer L and kernel k: for each compared image j, d_j(p) = 1 - max cosine of patch p
 * to the patches of j; the patch score is the mean of the smallest `keep` fraction of the d_j(p)
 * (at least one): a defect shared by a few images still scores high against the others. The
 * image's map is the mean of its (layer, kernel) maps (score-map.ts, equal weights), smoothed as
 * the few-shot map, then refined with SAM as `fewshot` does. With `normalise`, each (layer,
 * kernel)'s scores are first placed by its own pool's scores, (d - median) / (q90 - median), so
 * that a layer whose distances spread widely does not drown one whose anomalies stand out by
 * fewer absolute units (fewshot does the same with its references' leave-one-out scores).
 *
 * Compared images: a pool member against the other pool members, any other image against
 * max_compared pool members. The pool is chosen from the test set alone (seeded), so every image
 * of a category can be scored as soon as the pool is prepared, memory is bounded by the pool
 * (not by N), and time grows as N x max_compared (N x N with max_compared = 0: every image
 * against all others).
 *
 * Small categories: with N >= 2 images every image is compared with all N - 1 others and the
 * mean keeps max(1, round(keep (N - 1))) of them (MuSc's own code divides by a count that is 0
 * below 5 images, hence its NaN maps); N < 2 has nothing to compare with and is refused.
 *
 * Optional steps (README: which held out leave-one-dataset-out): `mask`, a second pass against
 * the pool without its most anomalous *patches*: per layer and kernel, the pool's patches whose
 * first-pass scores are among its highest `mask` fraction are replaced, in their image's search
 * columns, by copies of that image's lowest-scoring patch, so that no query matches them. A
 * defect that several images share then stops matching itself in the others, while every image
 * keeps its normal patches (removing whole images, `exclude`, removed the normal variation they
 * supply too). `exclude`, a second pass in which the pool members with the highest first-pass
 * map maxima are no longer compared with; the hybrid `referenceWeight`, which blends each patch
 * score with its nearest distance to the category's normal references where the run gives some.
 *
 * No image-level re-scoring: the research's simple one (mean of the max-of-map of an image's 3
 * nearest images by global feature) lowered MVTec image AUROC from 88.8 to 76.6 (with 9-14
 * images per category the nearest images mix normal and anomalous ones); the evaluation's
 * image score stays the map's maximum.
 */
import { localMeanHwc, normaliseCells, type HwcGrid } from '../../models/backbones/features.js';
import type { FeatureGrid } from '../../models/backbones/types.js';
import { UserError } from '../../util/errors.js';
import { quantile } from '../../util/numeric.js';
import { mulberry32, sampleWithoutReplacement } from '../../util/random.js';
import { concatPatchSets, type PatchSet } from '../components/patch-distance.js';
import { applyPca, fitPca, type Pca } from '../components/pca.js';
import { combineToWorkMap, type MapOptions, type ScaleScores } from '../components/score-map.js';
import { maskedImageBlock, nearestPerImage, prepareImageBlock, type ImageBlock, type PatchMask } from './search.js';

export interface MutualOptions {
  /** Fraction of the per-image minimum distances averaged (smallest first), config mutual.keep. */
  keep: number;
  /** Aggregation kernels (odd cell counts), config mutual.kernels. */
  kernels: number[];
  /** Images each image is compared with; 0 = all others (config mutual.max_compared). */
  maxCompared: number;
  /** PCA dims per layer; 0 = off (config mutual.pca). */
  pca: number;
  /** Fraction of pool members, most anomalous at a first pass, that no image is compared with (config mutual.exclude). */
  exclude: number;
  /** Weight of the nearest distance to the normal references where a category has some (config mutual.reference_weight; 0 = zero-shot). */
  referenceWeight: number;
  /** Fraction of the pool's patches, highest first-pass scores, that no image may match at a second pass (config mutual.mask; 0 = one pass). */
  mask?: number;
  /** Per layer and kernel, scores as (d - median) / (q90 - median) of the pool's own scores before the mean (config mutual.normalise). */
  normalise?: boolean;
  /** Interval of ranks: the score is the mean over these keep fractions (config mutual.keeps; empty = [keep]). */
  keeps?: number[];
  /** Soft pool weighting strength s: compared image j weighs 1 - s x its first-pass rank (config mutual.pool_weighting; 0 = equal). */
  poolWeighting?: number;
  /** How the hybrid combines the mutual score with the nearest reference distance (config mutual.reference_combine). */
  referenceCombine?: 'blend' | 'max' | 'min';
  seed: number;
  map: MapOptions;
}

/** Pool images per search tensor: the similarity block and the tensor stay small whatever the pool. */
const IMAGES_PER_BLOCK = 8;

/** How many of J per-image distances the mean keeps. */
export function keptCount(J: number, keep: number): number {
  return Math.max(1, Math.min(J, Math.round(keep * J)));
}

/**
 * Per row of an n x J matrix: the mean of its smallest `count` values among `columns`.
 * (Selection by partial insertion: J is small, at most a few hundred.)
 */
export function meanOfSmallest(dist: Float32Array, n: number, J: number, columns: readonly number[], count: number): Float32Array {
  const out = new Float32Array(n);
  const c = Math.min(count, columns.length);
  const best = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    let filled = 0;
    for (const j of columns) {
      const v = dist[i * J + j];
      if (filled < c) {
        let k = filled++;
        while (k > 0 && best[k - 1] > v) best[k] = best[--k];
        best[k] = v;
      } else if (v < best[c - 1]) {
        let k = c - 1;
        while (k > 0 && best[k - 1] > v) best[k] = best[--k];
        best[k] = v;
      }
    }
    let s = 0;
    for (let k = 0; k < c; k++) s += best[k];
    out[i] = s / c;
  }
  return out;
}

/** Indices (sorted) of the comparison pool among n test images. */
export function choosePool(n: number, maxCompared: number, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (maxCompared === 0 || n <= maxCompared + 1) return all;
  return sampleWithoutReplacement(all, maxCompared + 1, mulberry32(seed)).sort((a, b) => a - b);
}

/** Pool columns an image is compared with: the others when it is a member, else the first maxCompared. */
export function comparedColumns(poolSize: number, self: number, maxCompared: number): number[] {
  const cols = Array.from({ length: poolSize }, (_, j) => j).filter((j) => j !== self);
  return self < 0 && maxCompared > 0 ? cols.slice(0, maxCompared) : cols;
}

/**
 * Pool members left out of every comparison at the second pass: the `fraction` with the highest
 * first-pass image scores, at most n - 2 of them so that every member keeps one image to compare
 * with. Ties go to the lower index, so the choice depends on the scores alone.
 */
export function excludedMembers(imageScores: readonly number[], fraction: number): Set<number> {
  const n = imageScores.length;
  const count = Math.max(0, Math.min(n - 2, Math.round(fraction * n)));
  const order = imageScores.map((v, i) => i).sort((a, b) => imageScores[b] - imageScores[a] || a - b);
  return new Set(order.slice(0, count));
}

/** The compared columns of `comparedColumns` without the excluded pool members. */
export function columnsWithout(columns: readonly number[], excluded: ReadonlySet<number>): number[] {
  return columns.filter((j) => !excluded.has(j));
}

/** An image-level score of a map for the exclusion: its maximum (the evaluation's image score). */
export function mapMaximum(map: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < map.length; i++) if (map[i] > m) m = map[i];
  return m;
}

/** The refusal for categories with nothing to compare. */
export function checkCategorySize(category: string, n: number): void {
  if (n < 2) {
    throw new UserError(
      `mutual: category '${category}' has ${n} test image${n === 1 ? '' : 's'}; mutual scoring compares each test image with the others of its category and needs at least 2 (use another preset, e.g. fewshot, for it)`,
    );
  }
}

export interface MutualPool {
  layers: string[];
  pca: Array<Pca | null>;
  /** Per (layer, kernel), layer-major: the pool's patch sets tiled into blocks of images. */
  blocks: ImageBlock[][];
  size: number;
  /** Per (layer, kernel), as `blocks`: the normal references' patch sets (empty without references). */
  refBlocks: ImageBlock[][];
  options: MutualOptions;
}

function gridOf(g: FeatureGrid): HwcGrid {
  return { data: g.data, h: g.gridHeight, w: g.gridWidth, c: g.dim };
}

/** One layer of one image, PCA-projected (centring and projection commute with the local mean). */
async function projected(g: FeatureGrid, pca: Pca | null): Promise<HwcGrid> {
  if (!pca) return gridOf(g);
  const p = await applyPca({ data: g.data, n: g.gridWidth * g.gridHeight, dim: g.dim }, pca);
  return { data: p.data, h: g.gridHeight, w: g.gridWidth, c: p.dim };
}

function aggregated(g: HwcGrid, kernel: number): PatchSet {
  const r = (kernel - 1) / 2;
  const a = normaliseCells(r > 0 ? localMeanHwc(g, r) : { ...g, data: g.data.slice() });
  return { data: a.data, n: a.h * a.w, dim: a.c };
}

/** The comparison pool from its images' feature grids (one list of layer grids per image). */
export async function buildPool(layers: readonly string[], grids: FeatureGrid[][], options: MutualOptions, refGrids: FeatureGrid[][] = []): Promise<MutualPool> {
  const pca: Array<Pca | null> = [];
  const blocks: ImageBlock[][] = [];
  const refBlocks: ImageBlock[][] = [];
  const tiled = (sets: PatchSet[]): ImageBlock[] => {
    const tiles: ImageBlock[] = [];
    for (let j0 = 0; j0 < sets.length; j0 += IMAGES_PER_BLOCK) tiles.push(prepareImageBlock(sets.slice(j0, j0 + IMAGES_PER_BLOCK)));
    return tiles;
  };
  for (let l = 0; l < layers.length; l++) {
    const p = options.pca > 0 && grids[0][l].dim > options.pca ? fitPca(concatPatchSets(grids.map((g) => ({ data: g[l].data, n: g[l].gridWidth * g[l].gridHeight, dim: g[l].dim }))), options.pca) : null;
    pca.push(p);
    // The references share the test pool's projection: their distances compare with the pool's.
    const proj = await Promise.all(grids.map((g) => projected(g[l], p)));
    const refProj = await Promise.all(refGrids.map((g) => projected(g[l], p)));
    for (const k of options.kernels) {
      blocks.push(tiled(proj.map((g) => aggregated(g, k))));
      refBlocks.push(refProj.length ? tiled(refProj.map((g) => aggregated(g, k))) : []);
    }
  }
  return { layers: [...layers], pca, blocks, size: grids.length, refBlocks, options };
}

/** Per row of an n x J matrix, its smallest value (the nearest reference). */
export function rowMinimum(dist: Float32Array, n: number, J: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let m = Infinity;
    for (let j = 0; j < J; j++) m = Math.min(m, dist[i * J + j]);
    out[i] = m;
  }
  return out;
}

/** (1 - w) mutual + w reference, in place on `mutual`. */
export function blendWithReferences(mutual: Float32Array, reference: Float32Array, w: number): Float32Array {
  for (let i = 0; i < mutual.length; i++) mutual[i] = (1 - w) * mutual[i] + w * reference[i];
  return mutual;
}

/** One (layer, kernel) of one image: its n x pool.size per-image nearest distances, and its nearest reference distances. */
export interface PartDistances {
  name: string;
  grid: FeatureGrid;
  n: number;
  /** n x pool.size row-major; only the compared columns are filled. */
  dist: Float32Array;
  /** Nearest distance to the normal references per patch, null without references or hybrid. */
  reference: Float32Array | null;
}

/** Per (layer, kernel) the distances of one image to the pool's `columns` (and to the references where the hybrid is on). */
export async function mutualDistances(grids: FeatureGrid[], pool: MutualPool, columns: readonly number[]): Promise<PartDistances[]> {
  if (columns.length === 0) throw new Error('mutual: no image to compare with');
  const { kernels } = pool.options;
  const parts: PartDistances[] = [];
  for (let l = 0; l < pool.layers.length; l++) {
    const g = await projected(grids[l], pool.pca[l]);
    for (let ki = 0; ki < kernels.length; ki++) {
      const q = aggregated(g, kernels[ki]);
      const dist = new Float32Array(q.n * pool.size);
      let j0 = 0;
      for (const tile of pool.blocks[l * kernels.length + ki]) {
        // Tiles the pool members this image is not compared with (a whole tile can be skipped).
        if (columns.some((c) => c >= j0 && c < j0 + tile.images)) {
          const d = await nearestPerImage(q, tile);
          for (let i = 0; i < q.n; i++) for (let j = 0; j < tile.images; j++) dist[i * pool.size + j0 + j] = d[i * tile.images + j];
        }
        j0 += tile.images;
      }
      let reference: Float32Array | null = null;
      const refTiles = pool.refBlocks[l * kernels.length + ki] ?? [];
      if (refTiles.length && pool.options.referenceWeight > 0) {
        const refs = refTiles.reduce((n, t) => n + t.images, 0);
        const rd = new Float32Array(q.n * refs);
        let r0 = 0;
        for (const tile of refTiles) {
          const d = await nearestPerImage(q, tile);
          for (let i = 0; i < q.n; i++) for (let j = 0; j < tile.images; j++) rd[i * refs + r0 + j] = d[i * tile.images + j];
          r0 += tile.images;
        }
        reference = rowMinimum(rd, q.n, refs);
      }
      parts.push({ name: `${pool.layers[l]}/k${kernels[ki]}`, grid: grids[l], n: q.n, dist, reference });
    }
  }
  return parts;
}

/**
 * Per row of an n x J matrix, a weighted mean of its smallest values among `columns`: the values
 * are taken smallest first until their weights reach count / |columns| of the columns' total
 * weight (the last one in part). With equal weights this is `meanOfSmallest(..., count)`; a
 * column of weight w < 1 both counts less in the mean and fills less of the quota, so the nearest
 * images that look defective give way to the next ones instead of being dropped. Columns all of
 * weight 0 fall back to equal weights.
 */
export function weightedMeanOfSmallest(dist: Float32Array, n: number, J: number, columns: readonly number[], weights: ArrayLike<number>, count: number): Float32Array {
  const c = columns.length;
  let total = 0;
  for (const j of columns) total += Math.max(0, weights[j]);
  if (!(total > 0)) return meanOfSmallest(dist, n, J, columns, count);
  const target = (Math.min(count, c) / c) * total;
  const out = new Float32Array(n);
  const order = new Int32Array(c);
  const vals = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      vals[k] = dist[i * J + columns[k]];
      order[k] = k;
    }
    // Insertion sort by value: c is at most a few hundred.
    for (let a = 1; a < c; a++) {
      const o = order[a];
      let b = a;
      while (b > 0 && vals[order[b - 1]] > vals[o]) order[b] = order[--b];
      order[b] = o;
    }
    let mass = 0;
    let sum = 0;
    for (let k = 0; k < c && mass < target; k++) {
      const w = Math.min(Math.max(0, weights[columns[order[k]]]), target - mass);
      mass += w;
      sum += w * vals[order[k]];
    }
    out[i] = sum / mass;
  }
  return out;
}

/**
 * Soft pool weights from the pool members' first-pass image scores: 1 - strength x rank / (n - 1),
 * rank 0 for the lowest score (most normal-looking), ties by index; strength 0 gives all ones.
 */
export function rankWeights(imageScores: readonly number[], strength: number): Float64Array {
  const n = imageScores.length;
  const w = new Float64Array(n).fill(1);
  if (n < 2 || strength <= 0) return w;
  const order = imageScores.map((_, i) => i).sort((a, b) => imageScores[a] - imageScores[b] || a - b);
  order.forEach((i, rank) => (w[i] = 1 - (strength * rank) / (n - 1)));
  return w;
}

/** The keep fractions a score averages over (mutual.keeps, else mutual.keep). */
export function keepFractions(options: Pick<MutualOptions, 'keep' | 'keeps'>): number[] {
  return options.keeps && options.keeps.length ? options.keeps : [options.keep];
}

/** The hybrid's combination of mutual scores with the nearest reference distances, in place on `mutual`. */
export function combineWithReferences(mutual: Float32Array, reference: Float32Array, w: number, how: 'blend' | 'max' | 'min' = 'blend'): Float32Array {
  if (how === 'blend') return blendWithReferences(mutual, reference, w);
  for (let i = 0; i < mutual.length; i++) mutual[i] = how === 'max' ? Math.max(mutual[i], reference[i]) : Math.min(mutual[i], reference[i]);
  return mutual;
}

/**
 * Patch scores from distances: per part the mean over the keep fractions of the (weighted) mean
 * of the smallest distances among `columns`, then the hybrid's combination with the references.
 * `weights` (one per pool member) null = equal weights.
 */
export function aggregateDistances(parts: readonly PartDistances[], pool: Pick<MutualPool, 'size' | 'options'>, columns: readonly number[], weights: ArrayLike<number> | null = null): ScaleScores[] {
  const fractions = keepFractions(pool.options);
  return parts.map((p) => {
    let scores: Float32Array | null = null;
    for (const f of fractions) {
      const count = keptCount(columns.length, f);
      const s = weights ? weightedMeanOfSmallest(p.dist, p.n, pool.size, columns, weights, count) : meanOfSmallest(p.dist, p.n, pool.size, columns, count);
      if (!scores) scores = s;
      else for (let i = 0; i < s.length; i++) scores[i] += s[i];
    }
    if (fractions.length > 1) for (let i = 0; i < scores!.length; i++) scores![i] /= fractions.length;
    if (p.reference) scores = combineWithReferences(scores!, p.reference, pool.options.referenceWeight, pool.options.referenceCombine);
    return { name: p.name, scores: scores!, grid: p.grid };
  });
}

/** Per (layer, kernel) patch scores of one image against the pool's `columns` (`weights`: soft pool weights, null = equal). */
export async function mutualScores(grids: FeatureGrid[], pool: MutualPool, columns: readonly number[], weights: ArrayLike<number> | null = null): Promise<ScaleScores[]> {
  return aggregateDistances(await mutualDistances(grids, pool, columns), pool, columns, weights);
}

/** An image's mutual map at working size (mean over layers and kernels, smoothed). */
export function mutualWorkMap(parts: ScaleScores[], width: number, height: number, options: MutualOptions): { map: Float32Array; width: number; height: number } {
  return combineToWorkMap(parts, width, height, options.map);
}

/**
 * The value above which the highest `fraction` of all the values lie: the (count + 1)-th largest,
 * count = floor(fraction x total), so that `count` values are strictly above it (fewer at ties);
 * Infinity when count is 0 (nothing above it).
 */
export function upperQuantile(sets: readonly Float32Array[], fraction: number): number {
  const total = sets.reduce((n, s) => n + s.length, 0);
  const count = Math.min(total - 1, Math.floor(fraction * total));
  if (count <= 0) return Infinity;
  const all = new Float32Array(total);
  let off = 0;
  for (const s of sets) {
    all.set(s, off);
    off += s.length;
  }
  all.sort();
  return all[total - 1 - count];
}

/** The patches of one image scoring above `threshold`, and its lowest-scoring patch (never masked); null when none is above. */
export function patchMaskOf(scores: Float32Array, threshold: number): PatchMask | null {
  const masked = new Uint8Array(scores.length);
  let any = false;
  let source = 0;
  for (let p = 0; p < scores.length; p++) {
    if (scores[p] > threshold) masked[p] = 1;
    any ||= masked[p] === 1;
    if (scores[p] < scores[source]) source = p;
  }
  if (!any) return null;
  masked[source] = 0;
  return { masked, source };
}

/**
 * The pool for a second pass: per (layer, kernel), the patches of the pool members whose
 * first-pass scores are among the pool's highest `fraction` are masked (no query can match them),
 * so a defect that several images share stops finding itself in the others while every image
 * keeps its normal patches, and with them the normal variation it supplies. `memberScores[k]` is
 * member k's `mutualScores` (pool order). Returns the new pool and the fraction of patches masked.
 */
export function maskPool(pool: MutualPool, memberScores: readonly ScaleScores[][], fraction: number): { pool: MutualPool; masked: number } {
  if (memberScores.length !== pool.size) throw new Error(`maskPool: ${memberScores.length} members' scores for a pool of ${pool.size}`);
  let masked = 0;
  let total = 0;
  const blocks = pool.blocks.map((tiles, s) => {
    const scores = memberScores.map((parts) => parts[s].scores);
    const threshold = upperQuantile(scores, fraction);
    const masks = scores.map((sc) => patchMaskOf(sc, threshold));
    for (const [k, m] of masks.entries()) {
      total += scores[k].length;
      if (m) masked += m.masked.reduce((a, b) => a + b, 0);
    }
    let j0 = 0;
    return tiles.map((tile) => {
      const own = masks.slice(j0, j0 + tile.images);
      j0 += tile.images;
      return own.some((m) => m !== null) ? maskedImageBlock(tile, own) : tile;
    });
  });
  return { pool: { ...pool, blocks }, masked: total ? masked / total : 0 };
}

/** Where a (layer, kernel)'s scores sit in its pool: the median, and the spread up to the 0.9 quantile. */
export interface PartNorm {
  median: number;
  spread: number;
}

/**
 * The normalisation of one (layer, kernel) from its pool members' scores. Median and 0.9 quantile
 * rather than fewshot's mean and 0.999 quantile of its references: the pool holds the anomalous
 * images too, whose patches fill the upper tail.
 */
export function partNorm(scores: readonly Float32Array[]): PartNorm {
  const all = new Float32Array(scores.reduce((n, s) => n + s.length, 0));
  let off = 0;
  for (const s of scores) {
    all.set(s, off);
    off += s.length;
  }
  const median = quantile(all, 0.5);
  return { median, spread: Math.max(1e-6, quantile(all, 0.9) - median) };
}

/** Per (layer, kernel) norms from the pool members' `mutualScores` (pool order). */
export function poolNorms(memberScores: readonly ScaleScores[][]): PartNorm[] {
  return memberScores[0].map((_, s) => partNorm(memberScores.map((parts) => parts[s].scores)));
}

/** Each part's scores as (d - median) / spread of its norm (new arrays; `norms` in the parts' order). */
export function normalisedParts(parts: readonly ScaleScores[], norms: readonly PartNorm[]): ScaleScores[] {
  if (parts.length !== norms.length) throw new Error(`normalisedParts: ${parts.length} parts, ${norms.length} norms`);
  return parts.map((p, s) => {
    const inv = 1 / norms[s].spread;
    return { ...p, scores: Float32Array.from(p.scores, (v) => (v - norms[s].median) * inv) };
  });
}
