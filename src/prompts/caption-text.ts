/**
 * The Grounding DINO anomaly caption built from the cleaned words (docs/method.md §1 step 5):
 * `" . " + words.join(". ") + ", " + object_tag + "."`, so the object tag stays in the caption.
 *
 * Length guard: Grounding DINO's BERT text encoder takes at most 256 tokens ([CLS] and [SEP]
 * included). When the caption is longer, whole trailing model phrases are dropped, never part of a
 * word; the default words and the object tag are always kept.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { DEFAULT_WORDS } from './clean.js';

export const MAX_CAPTION_TOKENS = 256;

/** Number of text-encoder tokens of a caption, special tokens included. */
export type TokenCounter = (text: string) => number;

export interface BuiltCaption {
  caption: string;
  /** The words that made it into the caption. */
  words: string[];
  /** Trailing phrases dropped by the length guard. */
  dropped: string[];
  tokens: number;
}

export function joinCaption(words: string[], objectTag: string): string {
  return ` . ${words.join('. ')}, ${objectTag.trim()}.`;
}

/**
 * Upper bound used when no tokenizer is at hand: uncased WordPiece gives a word at most one token
 * per character and spaces none, so non-space characters + 2 special tokens never under-counts.
 */
export const charBoundCounter: TokenCounter = (text) => text.replace(/\s+/g, '').length + 2;

export function buildCaption(
  words: string[],
  objectTag: string,
  opts: { countTokens?: TokenCounter; maxTokens?: number } = {},
): BuiltCaption {
  const count = opts.countTokens ?? charBoundCounter;
  const max = opts.maxTokens ?? MAX_CAPTION_TOKENS;
  const kept = [...words];
  const dropped: string[] = [];
  let caption = joinCaption(kept, objectTag);
  let tokens = count(caption);
  while (tokens > max) {
    let i = kept.length - 1;
    while (i >= 0 && (DEFAULT_WORDS as readonly string[]).includes(kept[i])) i--;
    if (i < 0) {
      throw new UserError(`caption for object tag '${objectTag}' needs ${tokens} text tokens even without model words (limit ${max})`);
    }
    dropped.unshift(kept[i]);
    kept.splice(i, 1);
    caption = joinCaption(kept, objectTag);
    tokens = count(caption);
  }
  return { caption, words: kept, dropped, tokens };
}

/** Token counter from a BERT tokenizer folder (tokenizer.json + tokenizer_config.json). */
export async function loadBertTokenCounter(dir: string): Promise<TokenCounter> {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) throw new UserError(`BERT tokenizer: ${file} not found`);
  const json = JSON.parse(await readFile(file, 'utf8'));
  const cfgFile = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? JSON.parse(await readFile(cfgFile, 'utf8')) : {};
  const { BertTokenizer } = await import('@huggingface/transformers');
  const tok = new BertTokenizer(json, cfg);
  // Grounding DINO lowercases and strips the caption before tokenising.
  return (text) => tok.encode(text.toLowerCase().trim()).length;
}

/**
 * Where the detector's BERT tokenizer usually is: the Grounding DINO model folders (hub layout,
 * tokenizer.json inside) and a plain bert-base-uncased folder, all in the models directory.
 */
export function defaultTokenizerDirs(modelsDir?: string): string[] {
  const m = resolve(modelsDir ?? process.env.IAPAS_MODELS ?? 'models');
  return [
    join(m, 'grounding-dino-tiny'),
    join(m, 'grounding-dino-tiny-int8'),
    join(m, 'tokenizers', 'bert-base-uncased'),
  ];
}

const counterMemo = new Map<string, Promise<TokenCounter>>();

/**
 * The first tokenizer found among `dirs` (memoised per folder), else the character bound with
 * `warn` called once.
 */
export async function resolveTokenCounter(dirs: string[], warn?: (msg: string) => void): Promise<{ count: TokenCounter; source: string }> {
  for (const d of dirs) {
    if (existsSync(join(d, 'tokenizer.json'))) {
      let p = counterMemo.get(d);
      if (!p) counterMemo.set(d, (p = loadBertTokenCounter(d)));
      return { count: await p, source: d };
    }
  }
  warn?.(`no BERT tokenizer found (looked in ${dirs.join(', ')}): the caption length guard counts characters instead`);
  return { count: charBoundCounter, source: 'char-bound' };
}
