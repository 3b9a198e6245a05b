/**
 * Answer parsers: LLM answer text -> defect nouns, by the parser a template names. The captioner
 * parses the raw answer itself (rather than piping a LangChain output parser) because it records
 * and caches the raw answer, and re-parses it when the cleaning rules change.
 *
 * Fallback chain (the parse never fails): JSON array -> the cleaning rules on the raw text -> the
 * default words `abnormal, defect`. `fallback` says which step produced the words.
 */
import { cleanAnswer, finishWords, type CleanResult } from './clean.js';

export const PARSER_NAMES = ['nouns', 'nouns-reference', 'json-nouns'] as const;
export type ParserName = (typeof PARSER_NAMES)[number];

export interface ParsedNouns extends CleanResult {
  parser: ParserName;
  /** Set when the answer did not give usable words the intended way. */
  fallback?: string;
}

const NO_WORDS = 'no usable words in the answer: using the default words abnormal, defect';

function withEmptyCheck(r: CleanResult, parser: ParserName, fallback?: string): ParsedNouns {
  if (r.llmWords === 0) return { ...r, parser, fallback: fallback ? `${fallback}; ${NO_WORDS}` : NO_WORDS };
  return fallback ? { ...r, parser, fallback } : { ...r, parser };
}

/** The words of an answer as the template's parser reads it; never fails (see the fallback chain above). */
export function parseNouns(text: string, parser: ParserName): ParsedNouns {
  if (parser === 'nouns-reference') return withEmptyCheck(cleanAnswer(text, { mode: 'reference' }), parser);
  if (parser === 'nouns') return withEmptyCheck(cleanAnswer(text), parser);
  const arr = extractJsonArray(text);
  if (arr === undefined) {
    return withEmptyCheck(cleanAnswer(text), parser, 'answer is not a JSON array of strings: used the cleaning rules');
  }
  // Each element is one item: commas or periods inside an element do not split it further.
  const items = arr
    .map((s) => cleanAnswer(s.replace(/[,.;\n]/g, ' ')))
    .flatMap((r) => r.words.slice(0, r.llmWords));
  const r = finishWords(items);
  return withEmptyCheck(r, parser, r.llmWords === 0 ? 'the JSON array holds no usable nouns' : undefined);
}

/** The first balanced JSON array of strings in the text, or undefined. */
export function extractJsonArray(text: string): string[] | undefined {
  const start = text.indexOf('[');
  if (start < 0) return undefined;
  for (let end = text.lastIndexOf(']'); end > start; end = text.lastIndexOf(']', end - 1)) {
    try {
      const v: unknown = JSON.parse(text.slice(start, end + 1));
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
      return undefined;
    } catch {
      // try a shorter span: the model may have written more after the array
    }
  }
  return undefined;
}
