/**
 * The templates a run can use: the built-in ones plus the YAML/JSON files of a user folder
 * (`--prompts <dir>`). A user file may hold one template or a list; a user template with a
 * built-in's name replaces it (and says so in `source`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../util/errors.js';
import { BUILTIN_TEMPLATES } from './builtin.js';
import { buildTemplate, type PromptTemplate } from './template.js';

const FILE_EXTS = new Set(['.yaml', '.yml', '.json']);

export function builtinTemplates(): PromptTemplate[] {
  return BUILTIN_TEMPLATES.map((t) => buildTemplate(t, 'builtin'));
}

/** Reads every .yaml/.yml/.json file of `dir` (not recursive), sorted by file name. */
export async function loadTemplateDir(dir: string): Promise<PromptTemplate[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => FILE_EXTS.has(extname(n).toLowerCase())).sort();
  } catch (err) {
    throw new UserError(`prompts folder ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message}`);
  }
  const out: PromptTemplate[] = [];
  for (const n of names) {
    const path = join(dir, n);
    const text = await readFile(path, 'utf8');
    let doc: unknown;
    try {
      doc = extname(n).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw new UserError(`prompt template ${path}: not valid ${extname(n).slice(1).toUpperCase()}: ${(err as Error).message.split('\n')[0]}`);
    }
    const docs = Array.isArray(doc) ? doc : [doc];
    docs.forEach((d, i) => out.push(buildTemplate(d, docs.length > 1 ? `${path}#${i}` : path)));
  }
  return out;
}

/** Built-ins, then the folder's templates (same name: the folder's wins; twice in the folder: error). */
export async function listTemplates(dir?: string): Promise<PromptTemplate[]> {
  const byName = new Map<string, PromptTemplate>();
  for (const t of builtinTemplates()) byName.set(t.spec.name, t);
  if (dir) {
    const seen = new Map<string, string>();
    for (const t of await loadTemplateDir(dir)) {
      const prev = seen.get(t.spec.name);
      if (prev) throw new UserError(`prompt template '${t.spec.name}' is defined twice: ${prev} and ${t.source}`);
      seen.set(t.spec.name, t.source);
      byName.set(t.spec.name, t);
    }
  }
  return [...byName.values()];
}

export async function getTemplate(name: string, dir?: string): Promise<PromptTemplate> {
  const all = await listTemplates(dir);
  const t = all.find((x) => x.spec.name === name);
  if (!t) {
    throw new UserError(`unknown prompt template '${name}'; known: ${all.map((x) => x.spec.name).join(', ')}${dir ? '' : ' (add your own with --prompts <dir>)'}`);
  }
  return t;
}
