/**
 * SPT's two decoder passes on one prompt (self-drafting): the draft decoder (its own LoRA and
 * adapter scales) answers the box prompt; its chosen low-res logits become the refining
 * decoder's mask prompt, with the same box. Both passes share the frozen base weights and the
 * image's relation. The loss is the refiner's BCE + Dice + IoU-head terms plus `draft_loss`
 * times the draft's, so the draft is trained to be a good draft, as the paper trains it.
 */
import { lax, numpy as np } from '@jax-js/jax';
import type { SptSettings } from '../../config/schema.js';
import { chosenLogits, decoderForward, type DecoderOutput, type Frozen } from '../decoder-forward.js';
import { bceWithLogits, diceLoss, iouHeadLoss, type LossWeights } from '../losses.js';
import type { TrainSample } from '../train-step.js';
import type { Pass, SptTree } from './params.js';
import { applyRelation, type Relation } from './relation.js';

export interface SptOutputs {
  /** Each pass's chosen low-res logits, phase order [65536, 1]. */
  draft: np.Array;
  refine: np.Array;
  /** Each pass's full output, for the losses (masks and IoU of all four tokens). */
  draftOut: DecoderOutput;
  refineOut: DecoderOutput;
}

type PassSettings = Pick<SptSettings, 'detach_draft'>;

function onePass(frozen: Frozen, tree: SptTree, pass: Pass, scale: number, sample: TrainSample, mask: np.Array | null, relation: Relation | null): DecoderOutput {
  const scales = tree[pass].vra;
  return decoderForward(frozen, tree[pass].lora, scale, {
    tokens: np.array(sample.tokens).reshape([4096, 256]),
    sparse: np.array(sample.sparse).reshape([sample.numPoints, 256]),
    mask,
    numPoints: sample.numPoints,
    afterBlock: relation && scales.length ? (keys, b) => applyRelation(keys, relation, scales[b]) : undefined,
  });
}

/** Draft then refine; leaves `frozen`, `tree` and `relation` to the caller. */
export function sptForward(frozen: Frozen, tree: SptTree, scale: number, sample: TrainSample, relation: Relation | null, s: PassSettings): SptOutputs {
  const draftOut = onePass(frozen, tree, 'draft', scale, sample, sample.mask ? np.array(sample.mask).reshape([4096, 16]) : null, relation);
  const draft = chosenLogits({ masks: draftOut.masks.ref, choice: draftOut.choice.ref });
  const prompt = (s.detach_draft ? lax.stopGradient(draft.ref) : draft.ref).reshape([4096, 16]);
  const refineOut = onePass(frozen, tree, 'refine', scale, sample, prompt, relation);
  const refine = chosenLogits({ masks: refineOut.masks.ref, choice: refineOut.choice.ref });
  return { draft, refine, draftOut, refineOut };
}

/** BCE + Dice on a pass's chosen logits and the IoU head's MSE; consumes `chosen` and `out`. */
function passLoss(chosen: np.Array, out: DecoderOutput, target: np.Array, w: LossWeights): np.Array {
  out.choice.dispose();
  const bce = bceWithLogits(chosen.ref, target.ref).mul(w.bce);
  const dice = diceLoss(chosen, target.ref).mul(w.dice);
  const iou = iouHeadLoss(out.masks, target, out.iou).mul(w.iou);
  return bce.add(dice).add(iou);
}

/** The SPT loss of one sample as a jax-js scalar. */
export function sptLoss(
  frozen: Frozen,
  tree: SptTree,
  scale: number,
  sample: TrainSample,
  relation: Relation | null,
  s: PassSettings & Pick<SptSettings, 'draft_loss'>,
  weights: LossWeights,
): np.Array {
  const o = sptForward(frozen, tree, scale, sample, relation, s);
  const target = np.array(sample.target).reshape([65536, 1]);
  const refine = passLoss(o.refine, o.refineOut, target.ref, weights);
  const draft = passLoss(o.draft, o.draftOut, target, weights);
  return refine.add(draft.mul(s.draft_loss));
}
