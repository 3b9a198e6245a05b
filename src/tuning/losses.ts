/**
 * The tuning losses on low-res logits against a binary target in the same (phase) order:
 * - BCE: mean over pixels of softplus(x) - x t (binary cross-entropy with logits);
 * - Dice: 1 - (2 sum(p t) + 1) / (sum p + sum t + 1), p = sigmoid(x) (smoothed by 1 so an empty
 *   target is defined);
 * - IoU head: mean squared error between each token's predicted IoU and the IoU its own mask
 *   (x > 0) has with the target, the latter without gradient (as segment-anything trains it).
 * Pixel order does not matter to any of them, so targets are permuted once, not the logits.
 */
import { lax, numpy as np } from '@jax-js/jax';

export interface LossWeights {
  bce: number;
  dice: number;
  iou: number;
}

/**
 * log(1 + e^x) that stays finite: the runtime's softplus overflows to Infinity above x ~ 88, and
 * SAM's logits reach that on bright, high-contrast images, which made BCE (Inf - Inf) and every
 * later weight NaN.
 */
export function softplus(x: np.Array): np.Array {
  return np.maximum(x.ref, 0).add(np.log1p(np.exp(np.negative(np.abs(x)))));
}

/**
 * The logistic function as (tanh(x / 2) + 1) / 2: the runtime's nn.sigmoid has a NaN gradient
 * below x ~ -88 (its exp(-x) overflows, inf / inf), and SAM's background logits go that low.
 */
export function sigmoid(x: np.Array): np.Array {
  return np.tanh(x.mul(0.5)).add(1).mul(0.5);
}

export function bceWithLogits(logits: np.Array, target: np.Array): np.Array {
  return softplus(logits.ref).sub(logits.mul(target)).mean();
}

export function diceLoss(logits: np.Array, target: np.Array): np.Array {
  const p = sigmoid(logits);
  const inter = p.ref.mul(target.ref).sum();
  return np.array(1).sub(inter.mul(2).add(1).div(p.sum().add(target.sum()).add(1)));
}

/** masks [P, K] logits, target [P, 1], predicted [1, K]. */
export function iouHeadLoss(masks: np.Array, target: np.Array, predicted: np.Array): np.Array {
  const hard = lax.stopGradient(np.greater(masks, 0).astype(np.float32));
  const inter = hard.ref.mul(target.ref).sum(0, { keepdims: true });
  const union = hard.sum(0, { keepdims: true }).add(target.sum()).sub(inter.ref);
  const actual = inter.div(np.maximum(union, 1));
  return np.square(predicted.sub(actual)).mean();
}

/**
 * Self-distillation: BCE of the student's logits against the teacher's probabilities (soft
 * targets), mean over pixels; equal to the pixel-mean binary KL(teacher || student) up to the
 * teacher's entropy, which has no gradient. The teacher arrives without gradient.
 */
export function distillLoss(student: np.Array, teacherLogits: np.Array): np.Array {
  const soft = lax.stopGradient(sigmoid(teacherLogits));
  return softplus(student.ref).sub(student.mul(soft)).mean();
}
