/** Reading the JSON files of run and sweep directories: one error line naming the file and what is wrong. */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { UserError } from '../util/errors.js';

/** A JSON file, or null when it does not exist; unreadable JSON is an error naming the file. */
export async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Where a parse failed, as `a.b[2].c`. */
function issuePath(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('');
}

/**
 * `json` read with a file's schema. `what(issue)` turns the first issue into the words after
 * "<path>: not <kind> (", so the message says which field is missing or wrong.
 */
export function parseFile<S extends z.ZodTypeAny>(schema: S, json: unknown, path: string, kind: string, what: (issue: z.ZodIssue) => string = defaultWhat): z.output<S> {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  throw new UserError(`${path}: not ${kind} (${what(r.error.issues[0])})`);
}

function defaultWhat(issue: z.ZodIssue): string {
  return issue.path.length ? `${issuePath(issue.path)}: ${issue.message}` : issue.message;
}
