/**
 * Presets `fewshot` and `fewshot-cnn`: stage A builds a memory bank from the k normal references
 * (and the adaptive threshold from their own scores); stage B scores the image against it, turns
 * the thresholded map into box + point prompts and refines them with SAM (algorithm.ts).
 */
import type { Config } from '../../config/schema.js';
import { backboneEntry, loadBackbone, resolveBackboneFile } from '../../models/backbones/index.js';
import { loadSam } from '../../models/sam/load.js';
import { fileRecord, samModelRecord } from '../../pipeline/model-record.js';
import { definePipeline, type BuildEnv, type ModelRecord, type Pipeline } from '../../pipeline/types.js';
import { anomalyMapStage, memoryStage, type AnomalyMapModel } from '../../stages/anomaly-map.js';
import { decodeImage, loadReferences } from '../../stages/decode.js';
import { mapRefineStage, type MapRefiner } from '../../stages/map-refine.js';
import { UserError } from '../../util/errors.js';
import { fewshotOptionsFrom, prepareFewshotCategory, refineWithSam, type FewshotCategory } from './algorithm.js';
import { scoreQuery } from './memory-bank.js';

export async function buildFewshot(config: Config, env: BuildEnv): Promise<Pipeline> {
  const options = fewshotOptionsFrom(config.fewshot, config.sam);
  let entry;
  try {
    entry = backboneEntry(config.fewshot.backbone);
  } catch (err) {
    throw new UserError(`fewshot.backbone: ${(err as Error).message}`);
  }
  const models: ModelRecord[] = [];
  if (entry.kind === 'onnx-cnn') models.push({ name: entry.model, files: [await fileRecord(await resolveBackboneFile(entry, env.modelsDir))] });
  const sam = await loadSam(config.sam.model, env.modelsDir, env.cache);
  models.push(await samModelRecord(config.sam.model, sam));
  const backbone = await loadBackbone(entry, { sam, modelsDir: env.modelsDir });
  let featureRuns = 0;

  const model: AnomalyMapModel<FewshotCategory> = {
    async prepare(references) {
      const memory = await prepareFewshotCategory(backbone, references, options);
      featureRuns += references.length;
      return { memory, notes: { backbone: backbone.name, threshold_policy: config.fewshot.threshold, category_threshold: memory.categoryThreshold } };
    },
    async score(image, memory) {
      featureRuns++;
      return scoreQuery(backbone, memory.bank, image);
    },
  };
  const refiner: MapRefiner<FewshotCategory> = {
    refine: (image, rawMap, memory) => refineWithSam(image, rawMap, memory, { sam: options.useSam ? sam : undefined }, options),
  };

  return definePipeline({
    name: config.preset,
    categoryStages: [loadReferences, memoryStage(model)],
    imageStages: [decodeImage, anomalyMapStage(model), mapRefineStage(refiner)],
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
