/**
 * Presets `iap-as` and `iap-as-base` (docs/method.md §1): one builder whose stage list follows the
 * config: the tagger (ram | classname | fixed | none), the captioner (llm | static), and whether
 * the object pass and size filter run. Every model is resolved before anything is loaded, so a
 * missing file stops the run before any work, naming the file and how to get it.
 */
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { resolveModel } from '../../models/weights/resolve.js';
import { resolveGgufPath } from '../../models/llm/chat-models.js';
import { createLlmCaptioner, createStaticCaptioner, captionRecord, type Captioner } from '../../prompts/captioner.js';
import { GroundingDino, gdinoModelFile, prepareCaption, type DetectorRaw } from '../../models/grounding-dino/model.js';
import { objectTagFromReferences, RamTagger } from '../../models/ram/model.js';
import { hashRgb } from '../../models/sam/model.js';
import { MissingModelError, MissingModelsError, UserError } from '../../util/errors.js';
import { fileRecord, loadSam, samEntryFor } from '../../models/sam/load.js';
import type { BuildEnv } from '../registry.js';
import { decodeImage, loadReferences, normalizeStage, samOnBoxes, scoreStage } from '../../stages/common.js';
import { anomalyPassStage, detectParams, objectPassStage, sizeFilterStage, type RawDetector } from '../../stages/detect.js';
import { definePipeline, type CategoryState, type ImageState, type ModelRecord, type Pipeline, type Stage } from '../../pipeline/types.js';
import type { RgbImage } from '../../image/types.js';

/** Files of a manifest model (resolveModel): MissingModelError naming the first absent file. */
export async function requireModelFiles(name: string, modelsDir: string): Promise<{ dir: string; files: string[] }> {
  const r = await resolveModel(name, modelsDir);
  return { dir: r.dir, files: Object.values(r.files) };
}

export async function buildIapas(config: Config, env: BuildEnv): Promise<Pipeline> {
  const { tagger, captioner: captionerKind } = config;
  const det = config.detector;
  if (tagger === 'fixed' && !config.object_tag) throw new UserError('tagger fixed needs an object tag (--object-tag <tag>)');
  if (det.object_pass && tagger === 'none') {
    throw new UserError('the object pass needs an object tag: set a tagger (ram, classname, fixed) or detector.object_pass=false');
  }
  if (det.size_filter && !det.object_pass) throw new UserError('the size filter needs the object pass (detector.object_pass=true) or detector.size_filter=false');
  if (captionerKind === 'llm' && tagger === 'none') throw new UserError('the LLM captioner needs an object tag: set a tagger, or use --captioner static');

  // 1. Resolve every model file first, and name every missing one at once: a user downloading
  // several GB should learn about all of them before the first pull, not one per attempt.
  const missing: MissingModelError[] = [];
  const need = async <T>(resolveOne: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await resolveOne();
    } catch (err) {
      if (err instanceof MissingModelError) missing.push(err);
      else throw err;
      return undefined;
    }
  };
  const gdinoFiles = await need(() => requireModelFiles(det.model, env.modelsDir));
  const ramFiles = tagger === 'ram' ? await need(() => requireModelFiles(config.tagging.model, env.modelsDir)) : undefined;
  if (captionerKind === 'llm' && config.llm.provider === 'llama-cpp') await need(() => resolveGgufPath(config.llm.model, env.modelsDir));
  await need(() => samEntryFor(config, env.modelsDir));
  if (missing.length === 1) throw missing[0];
  if (missing.length > 1) throw new MissingModelsError(missing);
  if (!gdinoFiles) throw new Error('unreachable: Grounding DINO resolved without files');

  // 2. Load.
  const models: ModelRecord[] = [];
  const gdino = await GroundingDino.load(gdinoFiles.dir, { cache: env.cache });
  models.push({ name: det.model, files: [await fileRecord(gdinoModelFile(gdinoFiles.dir))] });
  let ram: RamTagger | undefined;
  if (ramFiles) {
    const onnx = ramFiles.files.find((f) => f.endsWith('.onnx'));
    const tagList = ramFiles.files.find((f) => f.endsWith('ram_tag_list.txt'));
    if (!onnx || !tagList) throw new MissingModelError(config.tagging.model, join(ramFiles.dir, onnx ? 'ram_tag_list.txt' : '*.onnx'));
    ram = await RamTagger.load(onnx, { tagListPath: tagList, thresholdPath: ramFiles.files.find((f) => f.endsWith('_threshold.txt')), cache: env.cache });
    models.push({ name: config.tagging.model, files: await Promise.all(ramFiles.files.map(fileRecord)) });
  }
  let captioner: Captioner;
  try {
    captioner =
      captionerKind === 'llm'
        ? await createLlmCaptioner({ template: config.caption.template, llm: config.llm, cache: env.cache, modelsDir: env.modelsDir })
        : createStaticCaptioner(config.caption.static);
  } catch (err) {
    await gdino.dispose();
    await ram?.dispose();
    throw err;
  }
  const { sam, record: samRecord } = await loadSam(config, env.modelsDir, env.cache);
  models.push(samRecord);

  // Detector model runs, counted here since the adapter's cache hides them.
  let gdinoCalls = 0;
  const detector: RawDetector = {
    async raw(image: RgbImage, caption: string): Promise<DetectorRaw> {
      gdinoCalls++;
      return gdino.infer(image, prepareCaption(caption), hashRgb(image));
    },
  };
  let llmRuns = 0;
  let ramRuns = 0;

  const categoryStages: Stage<CategoryState>[] = [];
  if (tagger === 'ram') {
    categoryStages.push(loadReferences, {
      name: 'object-tag',
      reads: ['refImages'],
      writes: ['tags', 'objectTag', 'objectTagSource', 'notes'],
      async run(s, ctx) {
        const images = s.refImages!.map((image) => ({ image, hash: hashRgb(image) }));
        ramRuns += images.length;
        const r = await objectTagFromReferences(images, ram!, { infer: (img, cap, h) => gdino.infer(img, cap, h) }, detectParams(ctx.config));
        if (!r.objectTag) {
          throw new UserError(`category '${s.category}': no object tag: Grounding DINO found no box for the RAM tags of any reference image (try --tagger classname)`);
        }
        return {
          tags: r.perImage.map((p) => p.tagString.split(' | ').filter(Boolean)),
          objectTag: r.objectTag,
          objectTagSource: 'ram+grounding-dino',
          notes: { object_tag_candidates: r.candidates, per_reference: r.perImage },
        };
      },
    });
  } else if (tagger === 'classname') {
    categoryStages.push({
      name: 'object-tag',
      reads: ['category'],
      writes: ['objectTag', 'objectTagSource'],
      run: async (s) => ({ objectTag: s.category.replace(/[_-]+/g, ' '), objectTagSource: 'classname' }),
    });
  } else if (tagger === 'fixed') {
    categoryStages.push({
      name: 'object-tag',
      reads: ['category'],
      writes: ['objectTag', 'objectTagSource'],
      run: async () => ({ objectTag: config.object_tag!, objectTagSource: 'fixed' }),
    });
  }
  categoryStages.push({
    name: 'caption',
    reads: captionerKind === 'llm' ? ['objectTag'] : [],
    writes: ['caption'],
    async run(s) {
      const r = await captioner.caption({ objectTag: s.objectTag ?? '', ramTags: s.tags?.flat(), category: s.category });
      if (captionerKind === 'llm' && !r.cached) llmRuns++;
      return { caption: { ...captionRecord(r), ...(captionerKind === 'static' ? { model: 'static' } : {}) } };
    },
  });

  const imageStages: Stage<ImageState>[] = [decodeImage];
  if (det.object_pass) imageStages.push(objectPassStage(detector));
  imageStages.push(anomalyPassStage(detector));
  if (det.size_filter) imageStages.push(sizeFilterStage);
  imageStages.push(samOnBoxes(sam), scoreStage, normalizeStage);

  return definePipeline({
    name: config.preset,
    categoryStages,
    imageStages,
    models,
    modelRuns: () => ({
      'grounding-dino': gdinoMisses(),
      ...(ram ? { ram: ramMisses() } : {}),
      ...(captionerKind === 'llm' ? { llm: llmRuns } : {}),
      'sam-encoder': sam.stats.encoderRuns,
      'sam-decoder': sam.stats.decoderRuns,
    }),
    async dispose() {
      await captioner.dispose();
      await gdino.dispose();
      await ram?.dispose();
      await sam.release();
    },
  });

  // Model runs = cache misses of the adapters' own caches (every call when there is no cache).
  function gdinoMisses(): number {
    return env.cache ? (env.cache.stats.get('gdino')?.misses ?? 0) : gdinoCalls;
  }
  function ramMisses(): number {
    return env.cache ? (env.cache.stats.get('ram')?.misses ?? 0) : ramRuns;
  }
}
