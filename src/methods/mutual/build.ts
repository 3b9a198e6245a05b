/**
 * Preset `mutual` (algorithm.ts): stage A prepares the category's comparison pool from its test
 * images (features, PCA, the pool members' own maps and the adaptive threshold from them);
 * stage B scores each image against the pool and refines the map with SAM exactly as `fewshot`
 * does (its threshold policy, prompts and combination).
 */
import type { MutualRunConfig } from './config.js';
import { loadRgb } from '../../image/io.js';
import type { RgbImage } from '../../image/types.js';
import { resizeBilinear } from '../../image/resize.js';
import { backboneEntry, resolveBackboneFile, withoutAggregation } from '../../models/backbones/index.js';
import type { FeatureGrid } from '../../models/backbones/types.js';
import { samEntryFor } from '../../models/sam/load.js';
import { fileRecord, modelCheckOf, samModelRecord } from '../../run-directory/model-record.js';
import { definePipeline, type BuildEnv, type CategoryState, type ModelRecord, type Pipeline, type Stage } from '../../pipeline/types.js';
import { anomalyMapStage, type AnomalyMapModel } from '../../stages/anomaly-map.js';
import { decodeImage } from '../../stages/decode.js';
import { mapRefineStage, type MapRefiner } from '../../stages/map-refine.js';
import { UserError } from '../../util/errors.js';
import { hashJson } from '../../util/hash.js';
import { hashRgb } from '../../image/hash.js';
import { cachedDistances, DISTANCE_VERSION, partLayout } from './distance-cache.js';
import { adaptiveThreshold } from '../components/threshold.js';
import { acquireBackbone, acquireSam } from '../components/shared-models.js';
import { timedBackbone } from '../components/timed-backbone.js';
import { mapToMasksOptionsFrom, refineWithSam } from '../components/map-to-masks.js';
import type { ScaleScores } from '../components/score-map.js';
import { aggregateDistances, buildPool, checkCategorySize, mutualDistances, rankWeights, type PartDistances, choosePool, columnsWithout, comparedColumns, excludedMembers, mapMaximum, maskPool, mutualWorkMap, normalisedParts, poolNorms, type MutualOptions, type MutualPool, type PartNorm } from './algorithm.js';

interface MutualCategory {
  pool: MutualPool;
  /** Work-size maps of the pool members (computed in stage A, reused in stage B), by image path. */
  poolMaps: Map<string, { map: Float32Array; width: number; height: number }>;
  categoryThreshold: number | null;
  /** Pool members no image is compared with (mutual.exclude's second pass). */
  excluded: ReadonlySet<number>;
  /** Per (layer, kernel) norms from the pool's scores (mutual.normalise), else null. */
  norms: PartNorm[] | null;
  /** Soft pool weights, one per pool member (mutual.pool_weighting), else null (equal). */
  weights: Float64Array | null;
  /** What the final pass's distances depend on besides the image and its columns (the cache key's part); null = not cached (a masked pool). */
  distanceKey: string | null;
}

export function mutualOptionsFrom(config: MutualRunConfig): MutualOptions {
  const m = config.mutual;
  return { keep: m.keep, kernels: m.kernels, maxCompared: m.max_compared, pca: m.pca, exclude: m.exclude, referenceWeight: m.reference_weight, mask: m.mask, normalise: m.normalise, keeps: m.keeps, poolWeighting: m.pool_weighting, referenceCombine: m.reference_combine, seed: config.seed, map: { workSize: config.fewshot.work_size, smoothSigma: config.fewshot.smooth_sigma } };
}

export async function buildMutual(config: MutualRunConfig, env: BuildEnv): Promise<Pipeline> {
  const refine = mapToMasksOptionsFrom(config.fewshot, config.sam);
  const options = mutualOptionsFrom(config);
  let entry;
  try {
    entry = withoutAggregation(backboneEntry(config.mutual.backbone));
  } catch (err) {
    throw new UserError(`mutual.backbone: ${(err as Error).message}`);
  }
  const { cache } = env;
  // Every model file checked against its pin before anything is loaded.
  const check = modelCheckOf(config, env);
  const models: ModelRecord[] = [];
  if (entry.kind === 'onnx-cnn') models.push({ name: entry.model, files: [await fileRecord(await resolveBackboneFile(entry, env.modelsDir), check)] });
  models.push(await samModelRecord(config.sam.model, await samEntryFor(config.sam.model, env.modelsDir, config.sam.decoder), check));
  const samRes = await acquireSam(config.sam.model, env, config.sam.decoder);
  const sam = samRes.model;
  const backboneRes = await acquireBackbone(entry, samRes, env);
  const backbone = timedBackbone(backboneRes.model);
  const features = (image: RgbImage): Promise<FeatureGrid[]> => backbone.extractScales(image);

  const poolStage: Stage<CategoryState<MutualCategory>> = {
    name: 'mutual-pool',
    reads: options.referenceWeight > 0 ? ['tests', 'references'] : ['tests'],
    writes: ['memory', 'notes'],
    async run(s, ctx) {
      const tests = s.tests;
      checkCategorySize(s.category, tests.length);
      const chosen = choosePool(tests.length, options.maxCompared, config.seed);
      const members: Array<{ path: string; image: RgbImage; grids: FeatureGrid[] }> = [];
      const unreadable: string[] = [];
      for (const i of chosen) {
        let image: RgbImage;
        try {
          image = await loadRgb(tests[i].imagePath);
        } catch (err) {
          // A bad image is left out of the pool (stage B reports it as it does for any preset).
          if (!(err instanceof UserError)) throw err;
          unreadable.push(tests[i].imagePath);
          continue;
        }
        members.push({ path: tests[i].imagePath, image, grids: await ctx.timer.time('mutual-pool/features', () => features(image)) });
      }
      checkCategorySize(s.category, members.length);
      // The hybrid: normal references, where the run gives some, beside the other test images.
      const refGrids: FeatureGrid[][] = [];
      const refHashes: string[] = [];
      if (options.referenceWeight > 0) {
        for (const r of s.references) {
          const image = await loadRgb(r.imagePath);
          refHashes.push(hashRgb(image));
          refGrids.push(await ctx.timer.time('mutual-pool/features', () => features(image)));
        }
      }
      // Everything the search's distances depend on but the image and its columns.
      const poolKey = hashJson({ v: DISTANCE_VERSION, backbone: await backbone.id(), members: members.map((m) => hashRgb(m.image)), references: refHashes, pca: options.pca, kernels: options.kernels, maxCompared: options.maxCompared });
      let pool = await ctx.timer.time('mutual-pool/build', () => buildPool(backbone.scaleNames, members.map((m) => m.grids), options, refGrids));
      const builtPool = pool;
      const distancesOf = async (searched: MutualPool, excluded: ReadonlySet<number>): Promise<PartDistances[][]> => {
        const all: PartDistances[][] = [];
        for (const [k, m] of members.entries()) {
          const columns = columnsWithout(comparedColumns(searched.size, k, options.maxCompared), excluded);
          const search = () => mutualDistances(m.grids, searched, columns);
          // A masked pool's search depends on the first pass's aggregation: not cached.
          const key = searched === builtPool ? cache?.key({ pool: poolKey, image: hashRgb(m.image), columns }) : undefined;
          const { layout, grids } = partLayout(searched, m.grids);
          all.push(await ctx.timer.time('mutual-pool/search', () => (key ? cachedDistances(cache, key, layout, searched.size, grids, search) : search())));
        }
        return all;
      };
      const aggregate = (dists: PartDistances[][], excluded: ReadonlySet<number>, w: Float64Array | null): ScaleScores[][] =>
        dists.map((d, k) => aggregateDistances(d, pool, columnsWithout(comparedColumns(pool.size, k, options.maxCompared), excluded), w));
      const mapsOf = (scores: ScaleScores[][], norms: PartNorm[] | null): MutualCategory['poolMaps'] =>
        new Map(members.map((m, k) => [m.path, mutualWorkMap(norms ? normalisedParts(scores[k], norms) : scores[k], m.image.width, m.image.height, options)]));
      let excluded: Set<number> = new Set();
      let dists = await distancesOf(pool, excluded);
      const first = aggregate(dists, excluded, null);
      let scores = first;
      let maskedFraction = 0;
      if (options.exclude > 0) {
        // Second pass: members whose first-pass maps look most anomalous stop counting as
        // "the other images", so a defect shared by many images is matched less often.
        excluded = excludedMembers([...mapsOf(first, null).values()].map((m) => mapMaximum(m.map)), options.exclude);
      }
      if ((options.mask ?? 0) > 0) {
        // Second pass against the pool without its most anomalous patches (not whole images).
        const masked = maskPool(pool, first, options.mask!);
        pool = masked.pool;
        maskedFraction = masked.masked;
      }
      if (excluded.size > 0 || maskedFraction > 0) {
        dists = await distancesOf(pool, excluded);
        scores = aggregate(dists, excluded, null);
      }
      // Soft pool weighting: the same distances aggregated again, the images whose first-pass
      // maps peak highest counting less (no second search).
      const weights = (options.poolWeighting ?? 0) > 0 ? rankWeights([...mapsOf(first, null).values()].map((m) => mapMaximum(m.map)), options.poolWeighting!) : null;
      if (weights) scores = aggregate(dists, excluded, weights);
      // The final pass's own pool scores place every image's scores, pool member or not.
      const norms = options.normalise ? poolNorms(scores) : null;
      const poolMaps = mapsOf(scores, norms);
      const p = refine.threshold;
      let categoryThreshold: number | null = null;
      if (p.kind === 'adaptive') {
        // The pool members' own maps stand in for fewshot's references' leave-one-out maps.
        const all = [...poolMaps.values()];
        const pooled = new Float32Array(all.reduce((n, m) => n + m.map.length, 0));
        let off = 0;
        for (const m of all) {
          pooled.set(m.map, off);
          off += m.map.length;
        }
        categoryThreshold = adaptiveThreshold(pooled, p);
      }
      const memory: MutualCategory = { pool, poolMaps, categoryThreshold, excluded, norms, weights, distanceKey: pool === builtPool ? poolKey : null };
      return {
        memory,
        notes: {
          backbone: backbone.name,
          test_images: tests.length,
          pool: pool.size,
          compared: columnsWithout(comparedColumns(pool.size, -1, options.maxCompared), excluded).length,
          excluded: excluded.size,
          masked_patches: maskedFraction,
          normalise: options.normalise ?? false,
          pool_weighting: weights ? options.poolWeighting : 0,
          keeps: options.keeps?.length ? options.keeps : [options.keep],
          reference_combine: options.referenceCombine ?? 'blend',
          references: refGrids.length,
          reference_weight: refGrids.length ? options.referenceWeight : 0,
          keep: options.keep,
          kernels: options.kernels,
          threshold_policy: config.fewshot.threshold,
          category_threshold: categoryThreshold,
          ...(unreadable.length ? { unreadable } : {}),
        },
      };
    },
  };

  const model: AnomalyMapModel<MutualCategory> = {
    prepare: () => Promise.reject(new Error('mutual: the pool is prepared by its own stage')),
    async score(image, memory, sample) {
      let work = memory.poolMaps.get(sample.imagePath);
      if (!work) {
        const columns = columnsWithout(comparedColumns(memory.pool.size, -1, options.maxCompared), memory.excluded);
        const grids = await features(image);
        const search = () => mutualDistances(grids, memory.pool, columns);
        const { layout, grids: partGrids } = partLayout(memory.pool, grids);
        const dists = memory.distanceKey && cache ? await cachedDistances(cache, cache.key({ pool: memory.distanceKey, image: hashRgb(image), columns }), layout, memory.pool.size, partGrids, search) : await search();
        const parts = aggregateDistances(dists, memory.pool, columns, memory.weights);
        work = mutualWorkMap(memory.norms ? normalisedParts(parts, memory.norms) : parts, image.width, image.height, options);
      }
      return resizeBilinear(work.map, work.width, work.height, image.width, image.height);
    },
  };
  const refiner: MapRefiner<MutualCategory> = {
    refine: (image, rawMap, memory) => refineWithSam(image, rawMap, memory, { sam: refine.useSam ? sam : undefined, cache }, refine),
  };

  return definePipeline({
    name: config.preset,
    categoryStages: [poolStage],
    // References the hybrid reads are never evaluated (a query identical to one would score 0).
    referencesAreShots: options.referenceWeight > 0,
    imageStages: [decodeImage, anomalyMapStage(model), mapRefineStage(refiner)],
    models,
    modelRuns: () => ({
      'sam-encoder': sam.stats.encoderRuns,
      'sam-decoder': sam.stats.decoderRuns,
      ...(entry.kind === 'onnx-cnn' ? { [backbone.name]: backbone.runs } : {}),
    }),
    modelMs: () => ({ 'sam-encoder': sam.stats.encoderMs, 'sam-decoder': sam.stats.decoderMs, ...(entry.kind === 'onnx-cnn' ? { [backbone.name]: backbone.ms } : {}) }),
    async dispose() {
      await backboneRes.dispose();
      await samRes.dispose();
    },
  });
}
