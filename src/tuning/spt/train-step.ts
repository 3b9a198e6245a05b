/**
 * One SPT training step: the image's relation (a constant of the frozen embedding) outside
 * autodiff, then valueAndGrad of the two-pass loss over both decoders' LoRA and adapter scales,
 * then the same Adam as plain LoRA tuning on the flat record.
 */
import { numpy as np, valueAndGrad } from '@jax-js/jax';
import type { SptSettings } from '../../config/schema.js';
import type { Frozen } from '../decoder-forward.js';
import { loraScale, type LoraArrays } from '../lora.js';
import { adamUpdate, type StepConfig, type TrainSample, type TrainState } from '../train-step.js';
import { sptLoss } from './forward.js';
import { disposeTree, flatGrads, toSptTree, type SptTree } from './params.js';
import { disposeRelation, relationOf, type Relation } from './relation.js';

export interface SptStepConfig extends StepConfig {
  spt: SptSettings;
}

export function sampleRelation(sample: TrainSample, s: SptSettings): Relation | null {
  return s.vra ? relationOf(np.array(sample.tokens).reshape([4096, 256]), s.relation_pool) : null;
}

/** One step on one sample; updates `state` in place and returns the loss before the update. */
export function sptTrainStep(frozen: Frozen, state: TrainState, sample: TrainSample, config: SptStepConfig): number {
  const scale = loraScale(config.lora);
  const relation = sampleRelation(sample, config.spt);
  try {
    const f = (tree: SptTree): np.Array => sptLoss(frozen, tree, scale, sample, relation, config.spt, config.losses);
    const [loss, grads] = valueAndGrad(f)(toSptTree(state.lora, config.lora.rank));
    const host = flatGrads(grads);
    const value = loss.dataSync()[0];
    const bad = Object.keys(host).find((k) => !host[k].down.every(Number.isFinite) || !host[k].up.every(Number.isFinite));
    // Known open defect: some prompts give non-finite refiner gradients; stop rather than write a NaN decoder.
    if (bad || !Number.isFinite(value)) throw new Error(`SPT step ${state.step + 1}: non-finite ${bad ? `gradient of ${bad}` : 'loss'}; the parameters were not updated`);
    adamUpdate(state, host, config.adam);
    return value;
  } finally {
    if (relation) disposeRelation(relation);
  }
}

/** The SPT loss of one sample under `params`, without a step. */
export function sptEvalLoss(frozen: Frozen, params: LoraArrays, config: SptStepConfig, sample: TrainSample): number {
  const relation = sampleRelation(sample, config.spt);
  const tree = toSptTree(params, config.lora.rank);
  try {
    return sptLoss(frozen, tree, loraScale(config.lora), sample, relation, config.spt, config.losses).dataSync()[0];
  } finally {
    disposeTree(tree);
    if (relation) disposeRelation(relation);
  }
}
