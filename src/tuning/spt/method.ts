/**
 * SPT as the trainer and `iapas tune` see it: its initial parameters, its step, and its files.
 */
import type { SptSettings } from '../../config/schema.js';
import type { FrozenArrays } from '../decoder-params.js';
import type { LoraConfig } from '../lora.js';
import type { Frozen } from '../decoder-forward.js';
import type { LoraArrays } from '../lora.js';
import type { StepConfig, TrainSample, TrainState } from '../train-step.js';
import { initSptParams } from './params.js';
import { sptTrainStep } from './train-step.js';

export interface SptTrainerMethod {
  init: () => LoraArrays;
  step: (frozen: Frozen, state: TrainState, sample: TrainSample, config: StepConfig) => number;
}

export function sptTrainerMethod(frozen: FrozenArrays, lora: LoraConfig, seed: number, spt: SptSettings): SptTrainerMethod {
  return {
    init: () => initSptParams(frozen, lora, seed, spt.vra),
    step: (f, state, sample, config) => sptTrainStep(f, state, sample, { ...config, spt }),
  };
}
