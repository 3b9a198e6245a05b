/**
 * Presets `iap-as` and `iap-as-base` (docs/method.md §1): one builder whose stage list follows
 * the config: the tagger (ram | classname | fixed | none), the captioner (llm | static), and
 * whether the object pass and size filter run. Every model is resolved before anything is
 * loaded, so a missing file stops the run before any work, naming the file and how to get it.
 */
import type { IapasRunConfig } from './config.js';
import { gdinoModelFile, prepareCaption } from '../../models/grounding-dino/model.js';
import { resolveGgufPath } from '../../models/llm/chat-models.js';
import { ramFilesOf, RamTagger } from '../../models/ram/model.js';
import { samEntryFor } from '../../models/sam/load.js';
import { hashRgb } from '../../image/hash.js';
import { policyNeedsMap, refinePolicyFrom, refinePolicyName } from '../components/sam-refine.js';
import { resolveModel } from '../../models/weights/resolve.js';
import { fileRecord, modelCheckOf, samModelRecord } from '../../run-directory/model-record.js';
import { acquireModel } from '../../pipeline/resources.js';
import { definePipeline, type BuildEnv, type CategoryState, type ImageState, type ModelRecord, type Pipeline, type Stage } from '../../pipeline/types.js';
import { createLlmCaptioner, createStaticCaptioner, type Captioner } from '../../prompts/captioner.js';
import { captionStage } from '../../stages/caption.js';
import { decodeImage, loadReferences } from '../../stages/decode.js';
import { detectParams, type RawDetector } from '../../stages/detect.js';
import type { DetectorFields } from '../../stages/detector-fields.js';
import { normalizeStage, scoreStage } from '../../stages/score.js';
import { samOnBoxes } from '../components/segment-stage.js';
import { classnameTagStage, fixedTagStage } from '../../stages/tag.js';
import { anomalyPassStage, objectPassStage, sizeFilterStage } from './detector-stages.js';
import { ramObjectTagStage } from './object-tag.js';
import { missingModelCollector, UserError } from '../../util/errors.js';
import { acquireGroundingDino, acquireSam } from '../components/shared-models.js';

/** Files of a manifest model: MissingModelError naming the first absent file. */
export async function requireModelFiles(name: string, modelsDir: string): Promise<{ dir: string; files: string[] }> {
  const r = await resolveModel(name, modelsDir);
  return { dir: r.dir, files: Object.values(r.files) };
}

function checkConfig(config: IapasRunConfig): void {
  const { tagger, captioner, detector: det } = config;
  if (tagger === 'fixed' && !config.object_tag) throw new UserError('tagger fixed needs an object tag (--object-tag <tag>)');
  if (det.object_pass && tagger === 'none') {
    throw new UserError('the object pass needs an object tag: set a tagger (ram, classname, fixed) or detector.object_pass=false');
  }
  if (det.size_filter && !det.object_pass) throw new UserError('the size filter needs the object pass (detector.object_pass=true) or detector.size_filter=false');
  if (captioner === 'llm' && tagger === 'none') throw new UserError('the LLM captioner needs an object tag: set a tagger, or use --captioner static');
  const refine = refinePolicyFrom(config.sam);
  if (policyNeedsMap(refine)) {
    throw new UserError(
      `SAM refinement '${refinePolicyName(refine)}' needs an anomaly map, and ${config.preset} has none before SAM (its map is made from the masks): use sam.refine=self or none with sam.multimask=off or iou`,
    );
  }
}

export async function buildIapas(config: IapasRunConfig, env: BuildEnv): Promise<Pipeline> {
  checkConfig(config);
  const { tagger, detector: det } = config;

  // 1. Resolve every model file first, and name every missing one at once: a user downloading
  // several GB should learn about all of them before the first pull, not one per attempt.
  const { need, check: checkMissing } = missingModelCollector();
  const gdinoFiles = await need(() => requireModelFiles(det.model, env.modelsDir));
  const ramFiles = tagger === 'ram' ? await need(() => requireModelFiles(config.tagging.model, env.modelsDir)) : undefined;
  if (config.captioner === 'llm' && config.llm.provider === 'llama-cpp') await need(() => resolveGgufPath(config.llm.model, env.modelsDir));
  const samEntry = await need(() => samEntryFor(config.sam.model, env.modelsDir, config.sam.decoder));
  checkMissing();
  if (!gdinoFiles || !samEntry) throw new Error('unreachable: models resolved without files');

  // Every model file checked against its pin before anything is loaded.
  const check = modelCheckOf(config, env);
  const gdinoRecord: ModelRecord = { name: det.model, files: [await fileRecord(gdinoModelFile(gdinoFiles.dir), check)] };
  const ramRecord: ModelRecord | undefined = ramFiles && { name: config.tagging.model, files: await Promise.all(ramFiles.files.map((f) => fileRecord(f, check))) };
  const samRecord = await samModelRecord(config.sam.model, samEntry, check);

  // 2. Load (or take the models already loaded by an earlier run of this process: a sweep). The
  // keys name everything a load depends on, the cache root included: a model writes its outputs
  // to the cache it was loaded with.
  const cacheRoot = env.cache?.root ?? '';
  const models: ModelRecord[] = [];
  const gdinoHandle = await acquireGroundingDino(gdinoFiles.dir, env);
  const gdino = gdinoHandle.model;
  models.push(gdinoRecord);
  let ram: RamTagger | undefined;
  let ramHandle: { dispose(): Promise<void> } | undefined;
  if (ramFiles) {
    const files = ramFilesOf(config.tagging.model, ramFiles);
    const h = await acquireModel(
      env.resources,
      `ram\0${files.model}\0${files.tagList}\0${files.thresholds ?? ''}\0${cacheRoot}`,
      () => RamTagger.load(files, { cache: env.cache }),
      (m) => m.dispose(),
    );
    ram = h.model;
    ramHandle = h;
    models.push(ramRecord!);
  }
  let captioner: Captioner;
  try {
    captioner =
      config.captioner === 'llm'
        ? await createLlmCaptioner({ template: config.caption.template, llm: config.llm, cache: env.cache, modelsDir: env.modelsDir })
        : createStaticCaptioner(config.caption.static);
  } catch (err) {
    await gdinoHandle.dispose();
    await ramHandle?.dispose();
    throw err;
  }
  const samHandle = await acquireSam(config.sam.model, env, config.sam.decoder);
  const sam = samHandle.model;
  models.push(samRecord);

  const detector: RawDetector = { raw: (image, caption) => gdino.infer(image, prepareCaption(caption), hashRgb(image)) };

  // 3. The stage lists, every parameter bound here.
  const params = detectParams(config);
  const categoryStages: Stage<CategoryState<never, DetectorFields>>[] = [];
  if (tagger === 'ram') categoryStages.push(loadReferences, ramObjectTagStage(ram!, detector, params));
  else if (tagger === 'classname') categoryStages.push(classnameTagStage);
  else if (tagger === 'fixed') categoryStages.push(fixedTagStage(config.object_tag!));
  categoryStages.push(captionStage(captioner));

  const imageStages: Stage<ImageState<never, DetectorFields>>[] = [decodeImage];
  if (det.object_pass) imageStages.push(objectPassStage(detector, params));
  imageStages.push(anomalyPassStage(detector, params));
  if (det.size_filter) imageStages.push(sizeFilterStage(det.size_threshold));
  imageStages.push(samOnBoxes(sam, refinePolicyFrom(config.sam)), scoreStage, normalizeStage);

  return definePipeline({
    name: config.preset,
    categoryStages,
    imageStages,
    models,
    modelRuns: () => ({
      'grounding-dino': gdino.runs,
      ...(ram ? { ram: ram.runs } : {}),
      ...(config.captioner === 'llm' ? { llm: captioner.runs } : {}),
      'sam-encoder': sam.stats.encoderRuns,
      'sam-decoder': sam.stats.decoderRuns,
    }),
    async dispose() {
      await captioner.dispose();
      await gdinoHandle.dispose();
      await ramHandle?.dispose();
      await samHandle.dispose();
    },
  });
}
