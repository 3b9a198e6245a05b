/**
 * Presets `fewshot` and `fewshot-cnn`: stage A builds a memory bank from the k normal references
 * (and the adaptive threshold from their own scores); stage B scores the image against it, turns
 * the thresholded map into box + point prompts and refines them with SAM (algorithm.ts).
 *
 * What depends only on images and models is computed once per sweep: the memory bank is kept in
 * the shared resources (keyed by backbone, reference contents and map options), an image's raw
 * anomaly map is in the model-output cache (namespace `fewshot-map`), and so are SAM's masks per
 * prompt (sam-masks.ts); a threshold, margin or boost change re-runs only what comes after them.
 */
import type { FewshotRunConfig } from './config.js';
import type { RgbImage } from '../../image/types.js';
import { backboneEntry, resolveBackboneFile } from '../../models/backbones/index.js';
import { hashRgb } from '../../image/hash.js';
import { samEntryFor } from '../../models/sam/load.js';
import { fileRecord, modelCheckOf, samModelRecord } from '../../run-directory/model-record.js';
import { definePipeline, type BuildEnv, type ModelRecord, type Pipeline } from '../../pipeline/types.js';
import { anomalyMapStage, memoryStage, type AnomalyMapModel } from '../../stages/anomaly-map.js';
import { decodeImage, loadReferences } from '../../stages/decode.js';
import { mapRefineStage, type MapRefiner } from '../../stages/map-refine.js';
import { UserError } from '../../util/errors.js';
import { hashJson } from '../../util/hash.js';
import { npyParts } from '../../util/npy.js';
import { fewshotCategoryFromBank, fewshotOptionsFrom, type FewshotCategory } from './algorithm.js';
import { refineWithSam } from '../components/map-to-masks.js';
import { categoryPoses, imageAlignment, scoreInReferencePose, type CategoryPoses } from './alignment.js';
import { referenceCopies, referencePoseFigures, resolveAugment, singleReferenceStandIns } from './augment.js';
import { matchExposure, referenceExposure, type ExposureStats } from './exposure.js';
import { prepareMemoryBank, scoreQuery, type MemoryBank } from './memory-bank.js';
import { acquireBackbone, acquireSam } from '../components/shared-models.js';
import { timedBackbone } from '../components/timed-backbone.js';

/** Bumped whenever the raw map's computation changes, so stale cached maps are never reused. */
const RAW_MAP_VERSION = 4;
/** Bumped whenever the aligned scoring changes (keys only the maps of images scored in another pose). */
const ALIGN_VERSION = 1;

/**
 * The category state with the identity of its bank (backbone, references, map options), the
 * references' value statistics every image is matched to (null: fewshot.exposure=none) and their
 * poses (null: fewshot.align=none).
 */
type KeyedCategory = FewshotCategory & { bankKey: string; exposure: ExposureStats | null; poses: CategoryPoses | null };

function bankBytes(b: MemoryBank): number {
  return b.scales.reduce((n, s) => n + s.prepared.n * s.prepared.dim * 4, 0) + b.referenceScores.byteLength;
}

export async function buildFewshot(config: FewshotRunConfig, env: BuildEnv): Promise<Pipeline> {
  const options = fewshotOptionsFrom(config.fewshot, config.sam);
  let entry;
  try {
    entry = backboneEntry(config.fewshot.backbone);
  } catch (err) {
    throw new UserError(`fewshot.backbone: ${(err as Error).message}`);
  }
  const { cache, resources } = env;
  // Every model file checked against its pin before anything is loaded.
  const check = modelCheckOf(config, env);
  const models: ModelRecord[] = [];
  if (entry.kind === 'onnx-cnn') models.push({ name: entry.model, files: [await fileRecord(await resolveBackboneFile(entry, env.modelsDir), check)] });
  models.push(await samModelRecord(config.sam.model, await samEntryFor(config.sam.model, env.modelsDir, config.sam.decoder), check));
  const sam = await acquireSam(config.sam.model, env, config.sam.decoder);
  const backbone = await acquireBackbone(entry, sam, env);
  // Timed: a CNN backbone's passes are model time of their own (SAM-encoder backbones are in sam.stats).
  const features = timedBackbone(backbone.model);

  const exposureMode = config.fewshot.exposure;
  // Map and refinement see the same matched image (one encoder pass, whose embedding SAM reuses).
  const matched = new WeakMap<RgbImage, RgbImage>();
  const exposed = (image: RgbImage, memory: KeyedCategory): RgbImage => {
    if (!memory.exposure) return image;
    let m = matched.get(image);
    if (!m) matched.set(image, (m = matchExposure(image, memory.exposure, exposureMode)));
    return m;
  };

  const model: AnomalyMapModel<KeyedCategory> = {
    async prepare(given, ctx) {
      const exposure = exposureMode === 'none' ? null : referenceExposure(given);
      const references = exposure ? given.map((r) => matchExposure(r, exposure, exposureMode)) : given;
      // 'objects' alignment and the 'auto' copies read the same pose figures of the references: measured once.
      const autoAugment = options.augment === 'auto' || options.augment === 'auto-rot90';
      const objectPoses = options.align === 'objects' || autoAugment ? categoryPoses(references, 'objects') : null;
      const augment = resolveAugment(options.augment, references, objectPoses && autoAugment ? referencePoseFigures(references, objectPoses) : undefined);
      const bankKey = hashJson({
        v: RAW_MAP_VERSION,
        backbone: await features.id(),
        references: references.map(hashRgb),
        map: options.map,
        coreset: options.coreset,
        pca: options.pca,
        int8: options.int8,
        // The copies made, not the mode asked for: a category 'auto' gives none shares the bank (and cached maps) of 'none'.
        ...(augment.mode === 'none' ? {} : { augment: augment.mode }),
        ...(references.length === 1 ? { single: options.singleReference } : {}),
        // Past k = 1 the key enters only where it makes stand-ins, so other banks keep their keys.
        ...(references.length > 1 && references.length <= options.standInsMaxK ? { single: options.singleReference, stand_ins_max_k: options.standInsMaxK, stand_ins_loo: 'other-references' } : {}),
        ...(exposure ? { exposure: exposureMode } : {}),
        ...(options.weighting === 'equal' ? {} : { weighting: options.weighting }),
      });
      const time = ctx ? <T>(name: string, fn: () => Promise<T>) => ctx.timer.time(name, fn) : undefined;
      const build = () => prepareMemoryBank(features, references, { map: options.map, coreset: options.coreset, pca: options.pca, int8: options.int8, augment: referenceCopies(augment.mode), single: singleReferenceStandIns(options.singleReference), standInsMaxK: options.standInsMaxK, weighting: options.weighting, cache, time });
      const bank = resources ? await resources.memo(`fewshot-bank\0${bankKey}`, build, bankBytes) : await build();
      const poses = options.align === 'none' ? null : options.align === 'objects' ? objectPoses : categoryPoses(references, options.align);
      const memory: KeyedCategory = { ...fewshotCategoryFromBank(bank, options), bankKey, exposure, poses };
      return {
        memory,
        notes: {
          backbone: features.name,
          ...(bank.standIns > 0 ? { single_reference: config.fewshot.single_reference, stand_ins: bank.standIns, stand_ins_max_k: config.fewshot.stand_ins_max_k } : {}),
          ...(exposure ? { exposure: exposureMode } : {}),
          ...(augment.figures ? { augment: { mode: options.augment, copies: augment.mode, object_detail: Math.round(100 * augment.figures.objectDetail) / 100, reference_axis_spread: Math.round(augment.figures.referenceSpread) } } : {}),
          threshold_policy: config.fewshot.threshold,
          category_threshold: memory.categoryThreshold,
          // Per scale: bank rows kept of all, PCA dims, and the normalisation (multi-scale backbones).
          scales: bank.scales.map((s) => ({ name: s.name, rows: s.rows, kept: s.kept, ...(s.pca ? { pca: s.pca.dims } : {}), ...(s.norm ? { loo_mean: s.norm.mean, loo_q999: s.norm.q999 } : {}), ...(s.weight !== 1 ? { weight: s.weight } : {}) })),
          coreset_ms: Math.round(bank.coresetMs),
          ...(poses ? { align: { applies: poses.applies, reference_axis_spread: Math.round(poses.referenceSpread), ...(poses.objectDetail === undefined ? {} : { object_detail: Math.round(100 * poses.objectDetail) / 100 }) } } : {}),
        },
      };
    },
    async score(given, memory) {
      const image = exposed(given, memory);
      // The map depends on the pose the image is scored in: an image left as it is shares its map with fewshot.align=none.
      const pose = memory.poses ? imageAlignment(image, memory.poses).pose : null;
      const compute = () => scoreInReferencePose(image, pose, (img) => scoreQuery(features, memory.bank, img));
      if (!cache) return compute();
      return cachedRawMap(cache, cache.key({ bank: memory.bankKey, image: hashRgb(image), ...(pose ? { pose, align: ALIGN_VERSION } : {}) }), image, compute);
    },
  };
  const refiner: MapRefiner<KeyedCategory> = {
    refine: (image, rawMap, memory) => refineWithSam(exposed(image, memory), rawMap, memory, { sam: options.useSam ? sam.model : undefined, cache }, options),
  };

  return definePipeline({
    name: config.preset,
    categoryStages: [loadReferences, memoryStage(model)],
    imageStages: [decodeImage, anomalyMapStage(model), mapRefineStage(refiner)],
    models,
    referencesAreShots: true,
    modelRuns: () => ({
      'sam-encoder': sam.model.stats.encoderRuns,
      'sam-decoder': sam.model.stats.decoderRuns,
      ...(entry.kind === 'onnx-cnn' ? { [features.name]: features.runs } : {}),
    }),
    modelMs: () => ({
      'sam-encoder': sam.model.stats.encoderMs,
      'sam-decoder': sam.model.stats.decoderMs,
      ...(entry.kind === 'onnx-cnn' ? { [features.name]: features.ms } : {}),
    }),
    async dispose() {
      await backbone.dispose();
      await sam.dispose();
    },
  });
}

/** The raw anomaly map of an image from the model-output cache, or computed and stored there. */
async function cachedRawMap(
  cache: NonNullable<BuildEnv['cache']>,
  key: string,
  image: RgbImage,
  compute: () => Promise<Float32Array>,
): Promise<Float32Array> {
  const hit = await cache.getNpy('fewshot-map', key, { dtype: '<f4', shape: [image.height, image.width] });
  if (hit) return hit.data as Float32Array;
  const map = await compute();
  await cache.setBytes('fewshot-map', key, npyParts(map, [image.height, image.width]));
  return map;
}
