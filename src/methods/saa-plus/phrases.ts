/**
 * SAA+'s text prompts per category: the general prompts of the config (`saa.general`, with
 * {object} filled in) plus the category's own phrases from a phrase file. The built-in files in
 * ./phrases/ (one per dataset family, written for this project) are data; a user's file
 * (`saa.phrases`) has the same layout and its categories replace the built-in ones.
 *
 *   categories:
 *     metal_nut:
 *       object: metal nut      # object-pass prompt and {object}; default: the category name, _ and - as spaces
 *       filter: nut            # a box whose detected phrase contains this is dropped; default: the object
 *       prompts: [scratch. bent edge., paint stain.]   # each one Grounding DINO caption
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { UserError } from '../../util/errors.js';

export const BUILTIN_PHRASE_DIR = fileURLToPath(new URL('./phrases/', import.meta.url));

const entrySchema = z
  .object({
    object: z.string().min(1).optional(),
    filter: z.string().min(1).optional(),
    prompts: z.array(z.string().min(1)).default([]),
  })
  .strict();

const fileSchema = z
  .object({
    dataset: z.string().optional(),
    categories: z.record(entrySchema),
  })
  .strict();

export interface PhraseEntry {
  object?: string;
  filter?: string;
  prompts: string[];
  /** The file it came from. */
  source: string;
}

/** Category name -> phrases. */
export type PhraseBook = Map<string, PhraseEntry>;

/** The prompts of one category, ready for the detector. */
export interface CategoryPrompts {
  object: string;
  filter: string;
  /** General prompts first, then the category's own. */
  prompts: string[];
  /** The phrase file, or 'general prompts only' when no file names the category. */
  source: string;
}

export function readPhraseFile(path: string): PhraseBook {
  let value: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new UserError(`SAA+ phrase file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = fileSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UserError(`SAA+ phrase file ${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message} (expected categories: {<name>: {object?, filter?, prompts: [...]}})`);
  }
  const book: PhraseBook = new Map();
  for (const [name, e] of Object.entries(r.data.categories)) book.set(name, { ...e, source: path });
  return book;
}

/** The built-in phrase files; a category named in two of them is an error (it would be ambiguous). */
export function builtinPhrases(dir = BUILTIN_PHRASE_DIR): PhraseBook {
  const book: PhraseBook = new Map();
  for (const f of readdirSync(dir).filter((n) => /\.(ya?ml|json)$/.test(n)).sort()) {
    for (const [name, e] of readPhraseFile(join(dir, f))) {
      const prev = book.get(name);
      if (prev) throw new Error(`SAA+ category '${name}' is in two built-in phrase files: ${prev.source} and ${e.source}`);
      book.set(name, e);
    }
  }
  return book;
}

/** The built-in book with a user's file on top (its categories replace the built-in ones). */
export function phraseBook(userFile?: string): PhraseBook {
  const book = builtinPhrases();
  if (userFile) for (const [name, e] of readPhraseFile(userFile)) book.set(name, e);
  return book;
}

/** A category's object word, filter and prompts: general prompts with {object} filled in, then its own. */
export function categoryPrompts(book: PhraseBook, category: string, general: string[]): CategoryPrompts {
  const e = book.get(category);
  const object = e?.object ?? category.replace(/[_-]+/g, ' ').trim();
  const prompts = [...general.map((g) => g.replaceAll('{object}', object)), ...(e?.prompts ?? [])];
  return { object, filter: e?.filter ?? object, prompts: [...new Set(prompts)], source: e?.source ?? 'general prompts only' };
}
