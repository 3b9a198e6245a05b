/**
 * Object tags that need no model: the category name (`classname`, as SAA+) or a fixed tag
 * (`fixed`). IAP-AS's tag from RAM and Grounding DINO is methods/iapas/object-tag.ts.
 */
import type { CategoryState, Stage } from '../pipeline/types.js';
import type { DetectorFields } from './detector-fields.js';

/** The category's folder name, '_' and '-' read as spaces (SAA+ prompts with the class name). */
export const classnameTagStage: Stage<CategoryState<never, DetectorFields>> = {
  name: 'object-tag',
  reads: ['category'],
  writes: ['objectTag', 'objectTagSource'],
  run: async (s) => ({ objectTag: s.category.replace(/[_-]+/g, ' '), objectTagSource: 'classname' }),
};

export function fixedTagStage(tag: string): Stage<CategoryState<never, DetectorFields>> {
  return {
    name: 'object-tag',
    reads: ['category'],
    writes: ['objectTag', 'objectTagSource'],
    run: async () => ({ objectTag: tag, objectTagSource: 'fixed' }),
  };
}
