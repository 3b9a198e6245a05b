/**
 * Preset `fewshot`: stage A builds a memory bank from the k normal references (and the adaptive
 * threshold from their own scores); stage B scores the image against it, turns the thresholded
 * map into box + point prompts and refines them with SAM (src/stages/fewshot.ts).
 */
import { loadBackbone, backboneEntry, resolveBackboneFile } from '../../models/backbones/index.js';
import type { Config } from '../../config/schema.js';
import { parseThresholdPolicy } from '../components/threshold.js';
import { scoreQuery } from './memory-bank.js';
import { fewshotOptions, prepareFewshotCategory, refineWithSam, type FewshotCategory, type FewshotOptions } from './algorithm.js';
import { UserError } from '../../util/errors.js';
import { fileRecord, loadSam } from '../../models/sam/load.js';
import type { BuildEnv } from '../registry.js';
import { boxArea } from '../../image/box.js';
import { decodeImage, loadReferences } from '../../stages/common.js';
import { definePipeline, type CategoryState, type ImageState, type ModelRecord, type Pipeline, type Stage } from '../../pipeline/types.js';

export function fewshotOptionsFrom(config: Config): FewshotOptions {
  const f = config.fewshot;
  let threshold;
  try {
    threshold = parseThresholdPolicy(f.threshold);
  } catch (err) {
    throw new UserError(`fewshot.threshold: ${(err as Error).message}`);
  }
  return fewshotOptions({
    threshold,
    useSam: f.use_sam,
    ...(f.mask_margin !== undefined ? { maskMargin: f.mask_margin } : {}),
    ...(f.boost !== undefined ? { boost: f.boost } : {}),
    prompts: { ...(f.min_area_fraction !== undefined ? { minAreaFraction: f.min_area_fraction } : {}), ...(f.max_prompts !== undefined ? { maxPrompts: f.max_prompts } : {}) },
    map: { ...(f.work_size !== undefined ? { workSize: f.work_size } : {}), ...(f.smooth_sigma !== undefined ? { smoothSigma: f.smooth_sigma } : {}) },
  });
}

export async function buildFewshot(config: Config, env: BuildEnv): Promise<Pipeline> {
  const options = fewshotOptionsFrom(config);
  let entry;
  try {
    entry = backboneEntry(config.fewshot.backbone);
  } catch (err) {
    throw new UserError(`fewshot.backbone: ${(err as Error).message}`);
  }
  const models: ModelRecord[] = [];
  if (entry.kind === 'onnx-cnn') models.push({ name: entry.name, files: [await fileRecord(await resolveBackboneFile(entry, env.modelsDir))] });
  const { sam, record } = await loadSam(config, env.modelsDir, env.cache);
  models.push(record);
  const backbone = await loadBackbone(entry, { sam, modelsDir: env.modelsDir });
  let featureRuns = 0;

  const memory: Stage<CategoryState> = {
    name: 'fewshot-memory',
    reads: ['refImages'],
    writes: ['memory', 'notes'],
    async run(s) {
      const cat = await prepareFewshotCategory(backbone, s.refImages!, options);
      featureRuns += s.refImages!.length;
      return { memory: cat, notes: { backbone: backbone.name, threshold_policy: config.fewshot.threshold, category_threshold: cat.categoryThreshold } };
    },
  };

  // The two halves of runFewshot as two stages, so the run summary times them apart.
  const featureMap: Stage<ImageState> = {
    name: 'fewshot-map',
    reads: ['image', 'category'],
    writes: ['rawMap'],
    async run(s) {
      featureRuns++;
      return { rawMap: await scoreQuery(backbone, (s.category.memory as FewshotCategory).bank, s.image!) };
    },
  };
  const refine: Stage<ImageState> = {
    name: 'fewshot-sam',
    reads: ['image', 'rawMap', 'category'],
    writes: ['boxes', 'masks', 'map', 'notes'],
    async run(s) {
      const image = s.image!;
      const r = await refineWithSam(image, s.rawMap!, s.category.memory as FewshotCategory, { sam: options.useSam ? sam : undefined }, options);
      return {
        boxes: r.masks.map((m) => ({ box: m.prompt.box, score: m.prompt.peak ?? 0, phrase: 'region', kept: true, area: boxArea(m.prompt.box, image.width, image.height) })),
        masks: r.masks.map((m) => m.mask),
        map: r.map,
        notes: {
          threshold: r.threshold,
          threshold_policy: r.thresholdPolicy,
          points: r.masks.map((m) => m.prompt.points[0]),
          sam_iou: r.masks.map((m) => m.iou),
        },
      };
    },
  };

  return definePipeline({
    name: 'fewshot',
    categoryStages: [loadReferences, memory],
    imageStages: [decodeImage, featureMap, refine],
    models,
    referencesAreShots: true,
    modelRuns: () => ({
      'sam-encoder': sam.stats.encoderRuns,
      'sam-decoder': sam.stats.decoderRuns,
      ...(entry.kind === 'onnx-cnn' ? { [backbone.name]: featureRuns } : {}),
    }),
    async dispose() {
      await backbone.release?.();
      await sam.release();
    },
  });
}
