/**
 * Preset `saa-plus`: SAA+ (docs/method.md §2), the baseline IAP-AS is compared with.
 *
 * Stage A: the category's text prompts (phrases.ts: general prompts + its phrases).
 * Stage B: Grounding DINO on the object prompt and on every text prompt -> property prompts
 * (object boxes < 1/N of the image; defect boxes < A x object area; phrase filter; regions.ts)
 * -> saliency map (self-dissimilarity of the image's own patches; saliency.ts) -> SAM per kept
 * box (refinement policies may read the saliency as their map) -> rescoring by the saliency
 * inside each mask, top-K, `sum m*s' / (1 + sum m)` (rescore.ts).
 *
 * Every model is resolved before anything loads: without Grounding DINO the run stops naming
 * the file and `iapas models pull`. Not implemented: SAA+'s multi-instance saliency (N > 1
 * compares each object's patches with the other objects'); with N > 1 the object boxes are
 * still limited to 1/N of the image, but the saliency stays the single-image one.
 */
import type { SaaRunConfig } from './config.js';
import { backboneEntry, resolveBackboneFile, type BackboneEntry } from '../../models/backbones/index.js';
import { gdinoModelFile, prepareCaption } from '../../models/grounding-dino/model.js';
import { samEntryFor } from '../../models/sam/load.js';
import { hashRgb } from '../../image/hash.js';
import { refinePolicyFrom } from '../components/sam-refine.js';
import { resolveModel } from '../../models/weights/resolve.js';
import { fileRecord, modelCheckOf, samModelRecord } from '../../run-directory/model-record.js';
import { definePipeline, type BuildEnv, type ModelRecord, type Pipeline } from '../../pipeline/types.js';
import { anomalyMapStage, type AnomalyMapModel } from '../../stages/anomaly-map.js';
import { decodeImage } from '../../stages/decode.js';
import { detectParams, promptEnsembleStage, type EnsembleProposer, type RawDetector } from '../../stages/detect.js';
import { rescoreStage, type MaskRescorer } from '../../stages/rescore.js';
import { samOnBoxes } from '../components/segment-stage.js';
import { textPromptsStage, type TextPrompts } from '../../stages/detector-text-prompts.js';
import type { DetectorFields } from '../../stages/detector-fields.js';
import { missingModelCollector, UserError } from '../../util/errors.js';
import { acquireBackbone, acquireGroundingDino, acquireSam } from '../components/shared-models.js';
import { categoryPrompts, phraseBook } from './phrases.js';
import { saaDefectBoxes, saaObjectPass } from './regions.js';
import { confidenceMap, meanInside, rescore, topK } from './rescore.js';
import { saliencyMap } from './saliency.js';

/** The saliency backbone: SAM's embeddings at their full 64x64 grid (SAA+ uses a 64x64 grid), or a CNN entry. */
function saliencyBackbone(name: string): BackboneEntry {
  let e: BackboneEntry;
  try {
    e = backboneEntry(name);
  } catch (err) {
    throw new UserError(`saa.backbone: ${(err as Error).message}`);
  }
  return e.kind === 'sam-encoder' ? { ...e, pool: 1 } : e;
}

export async function buildSaaPlus(config: SaaRunConfig, env: BuildEnv): Promise<Pipeline> {
  const saa = config.saa;
  const book = phraseBook(saa.phrases);
  const entry = saliencyBackbone(saa.backbone);

  // 1. Resolve every model file first, naming every missing one at once.
  const { need, check: checkMissing } = missingModelCollector();
  const gdinoDir = await need(async () => (await resolveModel(config.detector.model, env.modelsDir)).dir);
  const cnnFile = entry.kind === 'onnx-cnn' ? await need(() => resolveBackboneFile(entry, env.modelsDir)) : undefined;
  const samEntry = await need(() => samEntryFor(config.sam.model, env.modelsDir, config.sam.decoder));
  checkMissing();

  // 2. Every model file checked against its pin, then loaded.
  const check = modelCheckOf(config, env);
  const models: ModelRecord[] = [];
  models.push({ name: config.detector.model, files: [await fileRecord(gdinoModelFile(gdinoDir!), check)] });
  models.push(await samModelRecord(config.sam.model, samEntry!, check));
  if (cnnFile && entry.kind === 'onnx-cnn') models.push({ name: entry.model, files: [await fileRecord(cnnFile, check)] });
  // Through the run resources: a sweep's runs share one load of each.
  const gdinoHandle = await acquireGroundingDino(gdinoDir!, env);
  const gdino = gdinoHandle.model;
  const samHandle = await acquireSam(config.sam.model, env, config.sam.decoder);
  const sam = samHandle.model;
  const backboneHandle = await acquireBackbone(entry, samHandle, env);
  const backbone = backboneHandle.model;
  let saliencyRuns = 0;

  const detector: RawDetector = { raw: (image, caption) => gdino.infer(image, prepareCaption(caption), hashRgb(image)) };

  const params = detectParams(config);
  const proposer: EnsembleProposer = {
    propose(raws, prompts) {
      const objects = saaObjectPass(raws.object, params, saa.object_count);
      const boxes = saaDefectBoxes(raws.prompts, params, { objectArea: objects.area, maxArea: saa.max_area, filter: prompts.filter });
      const best = objects.boxes[0];
      return {
        objectBox: best ? { box: best.box, score: best.score, phrase: best.phrase } : null,
        objectSize: objects.area,
        boxes: boxes.map((b) => ({ from: 'detector' as const, box: b.box, score: b.score, phrase: b.phrase, kept: b.kept, area: b.area, ...(b.dropped ? { dropped: b.dropped } : {}) })),
        notes: { object_boxes: objects.boxes.length, box_prompts: boxes.map((b) => prompts.prompts[b.prompt]) },
      };
    },
  };

  // The saliency reads only the image: no memory, no stage A.
  const saliency: Pick<AnomalyMapModel<TextPrompts>, 'score'> = {
    async score(image) {
      saliencyRuns++;
      return saliencyMap(await backbone.extract(image), image.width, image.height, saa.saliency_fraction);
    },
  };

  const rescorer: MaskRescorer = {
    rescore(masks, scores, rawMap, width, height) {
      const inside = meanInside(masks, rawMap);
      const rescored = rescore(scores, inside, saa.saliency_weight);
      const top = new Set(topK(rescored, saa.top_k));
      const keep = rescored.map((_, i) => top.has(i));
      const map = confidenceMap(masks.filter((_, i) => keep[i]), rescored.filter((_, i) => keep[i]), width, height);
      return { saliency: inside, rescored, keep, map };
    },
  };

  return definePipeline<TextPrompts, DetectorFields>({
    name: config.preset,
    categoryStages: [textPromptsStage({ promptsFor: (category) => categoryPrompts(book, category, saa.general) })],
    // The saliency comes before SAM so that a refinement policy can read it as its map.
    imageStages: [decodeImage, promptEnsembleStage(detector, proposer), anomalyMapStage(saliency), samOnBoxes(sam, refinePolicyFrom(config.sam)), rescoreStage(rescorer)],
    models,
    modelRuns: () => ({
      'grounding-dino': gdino.runs,
      'sam-encoder': sam.stats.encoderRuns,
      'sam-decoder': sam.stats.decoderRuns,
      saliency: saliencyRuns,
    }),
    async dispose() {
      await gdinoHandle.dispose();
      await backboneHandle.dispose();
      await samHandle.dispose();
    },
  });
}
