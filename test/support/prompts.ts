import type { DetectionPrompt, SamPromptRecord } from '../../src/run-directory/records.js';

/** A detector method's recorded SAM prompts, each checked to be a detector box. */
export function detectionPrompts(list: SamPromptRecord[] | undefined): DetectionPrompt[] {
  if (!list) throw new Error('the record has no samPrompts');
  return list.map((p) => {
    if (p.from !== 'detector') throw new Error(`expected detector prompts, found one from '${p.from}'`);
    return p;
  });
}
