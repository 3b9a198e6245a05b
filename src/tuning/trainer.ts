/**
 * The training loop: epochs over the samples in a seeded order, one step per sample, a
 * checkpoint every N steps. The order, the prompts' jitter and the initial LoRA are functions
 * of (seed, epoch, index) only, and the state is saved exactly, so a run resumed from a
 * checkpoint takes the same steps as one never interrupted.
 */
import { mkdir } from 'node:fs/promises';
import { sha256 } from '../util/hash.js';
import type { FrozenArrays } from './decoder-params.js';
import type { Frozen } from './decoder-forward.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { initLora, type LoraArrays, type LoraConfig } from './lora.js';
import { mulberry32 } from '../util/random.js';
import { ADAM_DEFAULTS, initialState, trainStep, type StepConfig, type TrainedOutput, type TrainSample, type TrainState } from './train-step.js';
import type { LossWeights } from './losses.js';

export interface TrainerSettings {
  lora: LoraConfig;
  lr: number;
  epochs: number;
  seed: number;
  losses: LossWeights;
  checkpointEvery: number;
  /** Which token BCE and Dice train (default 'best', the export's choice). */
  output?: TrainedOutput;
}

export interface TrainerOptions {
  frozen: Frozen;
  frozenArrays: FrozenArrays;
  /** How many samples an epoch has, and sample i of an epoch (its prompt jitter may depend on the epoch). */
  count: number;
  sampleAt: (index: number, epoch: number) => TrainSample | Promise<TrainSample>;
  settings: TrainerSettings;
  /** Whatever else fixes the result (data hashes): a checkpoint of other inputs is refused. */
  identity: unknown;
  checkpointDir?: string;
  /** Stop after this many steps in total (a planned interruption). */
  stopAfter?: number;
  onStep?: (step: number, total: number, loss: number) => void;
  /** The method's step (default: one prompt, one pass, `trainStep`); updates the state, returns the loss. */
  step?: (state: TrainState, sample: TrainSample, config: StepConfig) => number;
  /** The method's initial parameters (SPT's two decoders; default: one decoder's LoRA). */
  init?: () => LoraArrays;
}

export interface TrainerResult {
  state: TrainState;
  epochLosses: number[];
  totalSteps: number;
  finished: boolean;
}

/** Fisher-Yates with a generator seeded by (seed, epoch). */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  const random = mulberry32((seed * 1_000_003 + epoch * 7919 + 17) >>> 0);
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export async function train(opts: TrainerOptions): Promise<TrainerResult> {
  const s = opts.settings;
  const step: StepConfig = { lora: s.lora, adam: { ...ADAM_DEFAULTS, lr: s.lr }, losses: s.losses, ...(s.output ? { output: s.output } : {}) };
  const total = s.epochs * opts.count;
  // output 'best' is keyed as absent, so checkpoints from before the setting still resume.
  const settingsSha = sha256(JSON.stringify({ settings: { ...s, checkpointEvery: undefined, output: s.output === 'best' ? undefined : s.output }, identity: opts.identity, count: opts.count }));
  let state = initialState(opts.init ? opts.init() : initLora(opts.frozenArrays, s.lora, s.seed));
  let epochLosses: number[] = [];
  let sum = 0;
  if (opts.checkpointDir) {
    await mkdir(opts.checkpointDir, { recursive: true });
    const saved = await loadCheckpoint(opts.checkpointDir, settingsSha);
    if (saved) {
      state = saved.state;
      epochLosses = saved.meta.epoch_losses;
      sum = saved.meta.epoch_loss_sum;
    }
  }
  while (state.step < total) {
    if (opts.stopAfter !== undefined && state.step >= opts.stopAfter) return { state, epochLosses, totalSteps: total, finished: false };
    const epoch = Math.floor(state.step / opts.count);
    const within = state.step % opts.count;
    const sample = await opts.sampleAt(epochOrder(opts.count, s.seed, epoch)[within], epoch);
    const loss = opts.step ? opts.step(state, sample, step) : trainStep(opts.frozen, state, sample, step);
    sum += loss;
    if (state.step % opts.count === 0) {
      epochLosses = [...epochLosses, sum / opts.count];
      sum = 0;
    }
    opts.onStep?.(state.step, total, loss);
    if (opts.checkpointDir && (state.step % s.checkpointEvery === 0 || state.step === total)) {
      await saveCheckpoint(opts.checkpointDir, state, { settings_sha256: settingsSha, epoch_loss_sum: sum, epoch_losses: epochLosses });
    }
  }
  return { state, epochLosses, totalSteps: total, finished: true };
}
