/** The IAP-AS score map `sum_i s_i * m_i` over the kept boxes and its per-image min-max (docs/method.md §1 B5). */
import { minMaxNormalize, scoreMap } from '../image/masks.js';
import type { ImageState, Stage } from '../pipeline/types.js';
import { detectorScore } from './detector-fields.js';

export const scoreStage: Stage<ImageState> = {
  name: 'score',
  reads: ['image', 'samPrompts', 'masks'],
  writes: ['rawMap'],
  async run(s) {
    const scores = s.samPrompts!.filter((p) => p.kept).map((p) => detectorScore(p, 'score'));
    return { rawMap: scoreMap(s.masks!, scores, s.image!.width, s.image!.height) };
  },
};

export const normalizeStage: Stage<ImageState> = {
  name: 'normalize',
  reads: ['rawMap'],
  writes: ['map'],
  async run(s) {
    return { map: minMaxNormalize(s.rawMap!) };
  },
};
