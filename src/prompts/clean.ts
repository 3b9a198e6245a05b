/**
 * Cleaning of an LLM answer into defect nouns (docs/method.md §1 step 5).
 *
 * Two modes, both pure and deterministic:
 * - `reference`: the IAP-AS code's rules as they behave (strip `.`/`,` at the ends, drop `''`/`""`,
 *   remove the substrings `word`/`none` and the whole words `of`/`part`, append `abnormal, defect`,
 *   de-duplicate words inside each comma item and then the items). The reference de-duplicated the
 *   items through a Python set, whose order changes from run to run; here the first-seen order is
 *   kept, so the same answer always gives the same caption.
 * - `robust` (default): the same intent, written for the answers real chat models give: lines and
 *   `.`/`;` also separate items, list numbers and bullets are stripped, preamble lines such as
 *   "Here are some words:" are dropped, quotes, markdown and parentheses go, everything is
 *   lowercased, the stop words are removed as whole words only (the reference's substring removal
 *   turned "sword" into "s"), sentence-like items (more than `maxWordsPerItem` words, or with a
 *   word of chat prose such as "i", "you", "sorry", "hope", "here") are dropped,
 *   and a plural is merged into an earlier singular (or the other way round), keeping the form seen
 *   first: "scratch, scratches" gives "scratch". The reference kept both.
 *
 * In both modes `abnormal, defect` are appended (they are part of the reference caption) and the
 * result lists the items in order; `llmWords` counts how many came from the model itself.
 */

export const DEFAULT_WORDS = ['abnormal', 'defect'] as const;

export type CleaningMode = 'robust' | 'reference';

export interface CleanOptions {
  mode?: CleaningMode;
  /** robust mode: items with more words are sentences, not nouns, and are dropped. */
  maxWordsPerItem?: number;
}

export interface CleanResult {
  /** Items in first-seen order, `abnormal` and `defect` included. */
  words: string[];
  /** How many of `words` the model contributed (0 means only the default words are left). */
  llmWords: number;
  /** The reference's cleaned string: items joined by `. `. */
  cleaned: string;
}

/** Whole-word stop list of the reference (`word` and `none` were substrings there). */
const STOP_WORDS = new Set(['word', 'words', 'none', 'of', 'part']);
const CONJUNCTIONS = new Set(['and', 'or']);
/** Words of chat prose ("I am sorry", "hope this helps", "sure"), never of a defect noun. */
const PROSE_WORDS = new Set(['i', 'im', 'me', 'my', 'you', 'your', 'we', 'us', 'sure', 'sorry', 'hope', 'please', 'here', 'certainly', 'note', 'let']);

export function cleanAnswer(raw: string, opts: CleanOptions = {}): CleanResult {
  return (opts.mode ?? 'robust') === 'reference' ? cleanReference(raw) : cleanRobust(raw, opts.maxWordsPerItem ?? 4);
}

/** Adds the default words and joins, so that every cleaning path ends the same way. */
export function finishWords(items: string[]): CleanResult {
  const words = dedupeItems(items);
  const llmWords = words.length;
  for (const d of DEFAULT_WORDS) if (!words.includes(d)) words.push(d);
  return { words, llmWords, cleaned: words.join('. ') };
}

function cleanReference(raw: string): CleanResult {
  let s = stripChars(raw ?? '', '.,');
  s = s.replaceAll("''", '').replaceAll('""', '');
  s = s.replaceAll('word', '').replaceAll('Word', '').replaceAll('none', '').replaceAll('None', '');
  s = s.replace(/\bof\b/g, '').replace(/\bpart\b/g, '');
  const items = s.split(',').map((part) => uniqueWords(part.split(/\s+/).filter(Boolean)).join(' '));
  // The reference then removed every '.', stripped '.,' at the ends and used '.' between items.
  const cleanedItems = items.map((i) => i.replaceAll('.', '').trim());
  const seen: string[] = [];
  for (const i of cleanedItems) if (!seen.includes(i)) seen.push(i);
  const words = seen.filter((i) => i !== '');
  const llmWords = words.length;
  for (const d of DEFAULT_WORDS) if (!words.includes(d)) words.push(d);
  return { words, llmWords, cleaned: words.join('. ') };
}

function cleanRobust(raw: string, maxWords: number): CleanResult {
  const items: string[] = [];
  for (let line of (raw ?? '').toLowerCase().split(/\r?\n/)) {
    line = line.replace(/\*\*|__|`/g, '');
    line = line.replace(/^\s*(?:[-*•+>]|\d+\s*[.):]|[a-z]\))\s*/u, '');
    // A label or preamble ("here are some words:", "nouns: a, b"): keep only what follows it.
    const colon = line.lastIndexOf(':');
    if (colon >= 0) line = line.slice(colon + 1);
    line = line.replace(/\([^)]*\)|\[[^\]]*\]/g, ' ');
    for (let item of line.split(/[,;.!?|/]/)) {
      item = item.replace(/["'“”‘’`]/g, '');
      item = item.replace(/[^\p{L}\p{N}\s-]/gu, ' ');
      let toks = item.split(/\s+/).filter(Boolean).map((t) => t.replace(/^-+|-+$/g, '')).filter(Boolean);
      toks = toks.filter((t) => !STOP_WORDS.has(t));
      // "and"/"or" joining two nouns are kept; dangling ones ("and dents", "cracks and") are not.
      while (toks.length && CONJUNCTIONS.has(toks[0])) toks.shift();
      while (toks.length && CONJUNCTIONS.has(toks[toks.length - 1])) toks.pop();
      toks = uniqueWords(toks);
      if (toks.length === 0 || toks.length > maxWords || toks.some((t) => PROSE_WORDS.has(t))) continue;
      items.push(toks.join(' '));
    }
  }
  return finishWords(items);
}

/** First-seen de-duplication, merging singular and plural forms of the same phrase. */
export function dedupeItems(items: string[]): string[] {
  const out: string[] = [];
  const keys = new Set<string>();
  for (const item of items) {
    const key = singularPhrase(item);
    if (keys.has(key)) continue;
    keys.add(key);
    out.push(item);
  }
  return out;
}

/** English plural to singular on the last word, for matching only (the surface form is kept). */
export function singularPhrase(phrase: string): string {
  const words = phrase.split(' ');
  const last = words[words.length - 1];
  words[words.length - 1] = singular(last);
  return words.join(' ');
}

function singular(w: string): string {
  if (w.length <= 3) return w;
  if (/[^aeiou]ies$/.test(w)) return w.slice(0, -3) + 'y';
  if (/(?:ches|shes|sses|xes|zes)$/.test(w)) return w.slice(0, -2);
  if (/(?:ss|us|is)$/.test(w)) return w;
  if (w.endsWith('s')) return w.slice(0, -1);
  return w;
}

function uniqueWords(words: string[]): string[] {
  const out: string[] = [];
  for (const w of words) if (!out.includes(w)) out.push(w);
  return out;
}

function stripChars(s: string, chars: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a])) a++;
  while (b > a && chars.includes(s[b - 1])) b--;
  return s.slice(a, b);
}
