/** Stage A's anomaly caption (docs/method.md §1 A4-A5): the captioner's answer for the object tag. */
import type { CategoryState, Stage } from '../pipeline/types.js';
import type { DetectorFields } from './detector-fields.js';
import { captionRecord, type Captioner } from '../prompts/captioner.js';

export function captionStage(captioner: Captioner): Stage<CategoryState<never, DetectorFields>> {
  return {
    name: 'caption',
    reads: captioner.kind === 'llm' ? ['objectTag'] : [],
    writes: ['caption'],
    async run(s) {
      const r = await captioner.caption({ objectTag: s.objectTag ?? '', ramTags: s.tags?.flat(), category: s.category });
      return { caption: { ...captionRecord(r), ...(captioner.kind === 'static' ? { model: 'static' } : {}) } };
    },
  };
}
