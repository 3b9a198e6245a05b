/**
 * SPT as the trainer and `iapas tune` see it: its initial parameters, its step, and its files.
 */
import type { SptSettings } from '../../config/schema.js';
import type { FrozenArrays } from '../decoder-params.js';
import type { LoraConfig } from '../lora.js';
import type { TrainerOptions } from '../trainer.js';
import { initSptParams } from './params.js';
import { sptTrainStep } from './train-step.js';

export function sptTrainerMethod(frozen: FrozenArrays, lora: LoraConfig, seed: number, spt: SptSettings): NonNullable<TrainerOptions['method']> {
  return {
    init: () => initSptParams(frozen, lora, seed, spt.vra),
    step: (f, state, sample, config) => sptTrainStep(f, state, sample, { ...config, spt }),
  };
}
