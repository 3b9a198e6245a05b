/**
 * Stage A of presets whose detector prompts come from data rather than from a captioner (SAA+'s
 * phrase files): the category's object word, filter word and list of prompts, for stage B's
 * prompt-ensemble detection (detect.ts promptEnsembleStage).
 */
import type { CategoryState, Stage } from '../pipeline/types.js';
import type { DetectorFields } from './detector-fields.js';

export interface TextPrompts {
  /** Object-pass prompt. */
  object: string;
  /** A detected phrase containing this names the object, not a defect. */
  filter: string;
  /** One detector caption each. */
  prompts: string[];
  /** Where the prompts came from (a phrase file, or a note that none named the category). */
  source: string;
}

export interface TextPromptSource {
  promptsFor(category: string): TextPrompts;
}

export function textPromptsStage(source: TextPromptSource): Stage<CategoryState<TextPrompts, DetectorFields>> {
  return {
    name: 'text-prompts',
    reads: ['category'],
    writes: ['objectTag', 'objectTagSource', 'memory', 'notes'],
    async run(s) {
      const p = source.promptsFor(s.category);
      return {
        objectTag: p.object,
        objectTagSource: p.source,
        memory: p,
        notes: { ...s.notes, text_prompts: p.prompts, filter: p.filter, phrase_source: p.source },
      };
    },
  };
}
