/**
 * Reference-based anomaly maps: stage A turns a category's normal references into a memory
 * (feature bank, thresholds), stage B scores each image against it. The method supplies the
 * model (src/methods/fewshot); these stages place it in the pipeline.
 */
import type { Sample } from '../datasets/types.js';
import type { RgbImage } from '../image/types.js';
import type { CategoryState, ImageState, Stage, StageContext } from '../pipeline/types.js';

export interface AnomalyMapModel<M> {
  /** `ctx` gives the disk cache and the stage timer (sub-steps are timed as 'memory/<step>'). */
  prepare(references: RgbImage[], ctx?: StageContext): Promise<{ memory: M; notes?: Record<string, unknown> }>;
  /** Raw anomaly map of one image at its size (`sample`: which test image it is). */
  score(image: RgbImage, memory: M, sample: Sample): Promise<Float32Array>;
}

export function memoryStage<M>(model: AnomalyMapModel<M>): Stage<CategoryState<M>> {
  return {
    name: 'memory',
    reads: ['refImages'],
    writes: ['memory', 'notes'],
    async run(s, ctx) {
      const { memory, notes } = await model.prepare(s.refImages!, ctx);
      return { memory, notes };
    },
  };
}

export function anomalyMapStage<M>(model: Pick<AnomalyMapModel<M>, 'score'>): Stage<ImageState<M>> {
  return {
    name: 'anomaly-map',
    reads: ['image', 'category'],
    writes: ['rawMap'],
    async run(s) {
      return { rawMap: await model.score(s.image!, s.category.memory!, s.sample) };
    },
  };
}
