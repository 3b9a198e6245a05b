/**
 * What a queue worker accepts from a job. Anyone who can write to the Redis a worker listens on
 * can add jobs, so a job is a request, not an order: the worker checks it before anything is
 * written.
 *
 * - Its data has the shape `iapas sweep --queue` writes, and no key anywhere may reach an
 *   object's prototype (`__proto__`, `constructor`, `prototype`).
 * - Signed, when the worker has a secret (job-signature.ts).
 * - Its config passes the config schema (unknown keys are refused as in a config file).
 * - Its sweep and run directories, and its model-output cache (which the worker writes), lie under
 *   the worker's allowed roots once symlinks are resolved; `..` segments are refused outright.
 * - Keys that choose hosts, credentials or files come from the worker (WORKER_KEYS): a job may
 *   leave them at their defaults (the worker's own values then apply) or give exactly the
 *   worker's values; any other value is refused, unless the worker allows that key. Model names
 *   that resolve inside the worker's models directory are free; paths are not.
 *
 * A refusal is a JobRefusedError (a UserError): the job fails at once with that message.
 */
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { checkConfigKeys, deepMerge, type Plain } from '../../config/load.js';
import { UserError } from '../../util/errors.js';
import type { SweepJobData } from './run-job.js';
import { verifyJob } from './job-signature.js';
import { validateConfig, presetInfo, type Config } from '../../methods/registry.js';

export class JobRefusedError extends UserError {
  constructor(jobId: string, reason: string) {
    super(`job ${jobId} refused by this worker: ${reason}`);
    this.name = 'JobRefusedError';
  }
}

/**
 * Keys a job may not choose. `host`: any value other than the default or the worker's is a
 * choice; `model`: a name is free (it resolves inside the worker's models directory), a path is a
 * choice; `file`: any value is a path.
 */
export const WORKER_KEYS: ReadonlyArray<{ key: string; kind: 'host' | 'model' | 'file'; why: string }> = [
  { key: 'llm.base_url', kind: 'host', why: 'the server the LLM requests (and the API key) go to' },
  { key: 'llm.api_key_env', kind: 'host', why: 'the environment variable sent as the API key' },
  { key: 'llm.model', kind: 'model', why: 'a GGUF file to load' },
  { key: 'sam.model', kind: 'model', why: 'a model to load' },
  { key: 'tagging.model', kind: 'model', why: 'a model to load' },
  { key: 'detector.model', kind: 'model', why: 'a model to load' },
  { key: 'fewshot.backbone', kind: 'model', why: 'a model to load' },
  { key: 'mutual.backbone', kind: 'model', why: 'a model to load' },
  { key: 'saa.backbone', kind: 'model', why: 'a model to load' },
  { key: 'saa.phrases', kind: 'file', why: 'a file to read' },
  { key: 'allow_model_mismatch', kind: 'file', why: 'runs model files whose sha256 differs from their pin' },
];

/** Paths the worker decides: its models directory always, its cache when --cache-dir is given. */
export const WORKER_PATH_KEYS = ['models_dir', 'cache_dir'] as const;

export interface AdmissionPolicy {
  /** Real absolute paths under which a job's directories and cache must lie. */
  roots: string[];
  /** With a secret, only jobs signed with it are accepted. */
  secret?: string;
  /** Keys of WORKER_KEYS / WORKER_PATH_KEYS a job may choose after all. */
  allowJobKeys: ReadonlySet<string>;
  /** The worker's own values of WORKER_KEYS (its --set flags), dotted key -> value. */
  workerValues: Readonly<Record<string, unknown>>;
  /** The worker's models directory (its --models-dir, else $IAPAS_MODELS or ./models where it started). */
  modelsDir: string;
  /** The worker's --cache-dir: replaces every job's. */
  cacheDir?: string;
}

const datasetSchema = z.object({ label: z.string().min(1), path: z.string().min(1), categories: z.array(z.string()).optional(), limit: z.number().int().min(0).optional() }).strict();
const versionSchema = z.object({ version: z.string(), commit: z.string().optional() }).strict();
const jobDataSchema = z
  .object({
    sweepDir: z.string().min(1),
    job: z.string().min(1),
    run: z.string().min(1),
    dataset: datasetSchema,
    runDir: z.string().min(1),
    config: z.record(z.unknown()),
    version: versionSchema.optional(),
    signature: z.string().optional(),
  })
  .strict();

/** The check every job passes first, before its version is looked at: shape of a plain object, no prototype keys, signature. */
export function checkEnvelope(jobId: string, raw: unknown, policy: Pick<AdmissionPolicy, 'secret'>): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new JobRefusedError(jobId, 'its data is not an object');
  try {
    checkConfigKeys(raw, `queue job ${jobId}`);
  } catch (err) {
    throw new JobRefusedError(jobId, (err as Error).message);
  }
  if (policy.secret) {
    const v = verifyJob(jobId, raw as Record<string, unknown>, policy.secret);
    if (v === 'unsigned') throw new JobRefusedError(jobId, 'it is not signed, and this worker runs only jobs signed with its secret (the submitter needs the same IAPAS_QUEUE_SECRET or --secret-file)');
    if (v === 'bad') throw new JobRefusedError(jobId, 'its signature does not match its data under this worker\'s secret (altered, or signed with another secret)');
  }
  return raw as Record<string, unknown>;
}

/** The real path of `p` (symlinks resolved as far as the path exists), or a refusal. */
async function realTarget(jobId: string, what: string, p: string): Promise<string> {
  if (!isAbsolute(p)) throw new JobRefusedError(jobId, `${what} ${p} is not an absolute path`);
  if (p.split(/[\\/]/).includes('..')) throw new JobRefusedError(jobId, `${what} ${p} holds a '..' segment`);
  let head = resolve(p);
  const tail: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    tail.unshift(basename(head));
    head = dirname(head);
  }
  return join(await realpath(head), ...tail);
}

export function isUnder(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

async function underRoots(jobId: string, what: string, p: string, roots: string[]): Promise<string> {
  const real = await realTarget(jobId, what, p);
  if (!roots.some((r) => isUnder(real, r))) {
    throw new JobRefusedError(jobId, `${what} ${p}${real !== p ? ` (really ${real})` : ''} is outside the directories this worker may write (${roots.join(', ')}); start it with --allow-root <dir> to allow more`);
  }
  return real;
}

function getPath(obj: Plain, dotted: string): unknown {
  let v: unknown = obj;
  for (const k of dotted.split('.')) v = typeof v === 'object' && v !== null ? (v as Plain)[k] : undefined;
  return v;
}

function setPath(obj: Plain, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] as Plain;
  o[keys[keys.length - 1]] = value;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const looksLikePath = (v: unknown) => typeof v === 'string' && (/[\\/]/.test(v) || v.startsWith('.') || v.startsWith('~') || /\.(gguf|onnx|ya?ml|json)$/i.test(v));

/**
 * The job's data as this worker will run it (directories as real paths, the worker's own values
 * in place), or a JobRefusedError. `raw` has passed checkEnvelope.
 */
export async function admitJob(jobId: string, raw: Record<string, unknown>, policy: AdmissionPolicy): Promise<SweepJobData> {
  const shape = jobDataSchema.safeParse(raw);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    const detail = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
    throw new JobRefusedError(jobId, `its data is not a sweep job (${issue.path.join('.') || '(root)'}: ${detail})`);
  }
  const data = shape.data;
  let config: Config;
  let defaults: Config;
  try {
    config = validateConfig(data.config, `queue job ${jobId}`);
    const info = presetInfo(config.preset);
    defaults = validateConfig(deepMerge({ preset: info.name }, info.defaults, { preset: info.name }), `preset ${info.name}`);
  } catch (err) {
    throw new JobRefusedError(jobId, (err as Error).message);
  }

  const sweepDir = await underRoots(jobId, 'sweep directory', data.sweepDir, policy.roots);
  const runDir = await underRoots(jobId, 'run directory', data.runDir, policy.roots);
  if (!isUnder(runDir, sweepDir)) throw new JobRefusedError(jobId, `run directory ${data.runDir} is not inside its sweep directory ${data.sweepDir}`);

  const allowed = (k: string) => policy.allowJobKeys.has(k);
  if (!allowed('models_dir')) config.models_dir = policy.modelsDir;
  if (policy.cacheDir && !allowed('cache_dir')) config.cache_dir = policy.cacheDir;
  else if (config.cache_dir !== undefined) config.cache_dir = await underRoots(jobId, 'model-output cache (cache_dir)', config.cache_dir, policy.roots);

  for (const { key, kind, why } of WORKER_KEYS) {
    if (allowed(key)) continue;
    const v = getPath(config as unknown as Plain, key);
    const mine = policy.workerValues[key];
    if (mine !== undefined && same(v, mine)) continue;
    if (same(v, getPath(defaults as unknown as Plain, key))) {
      if (mine !== undefined) setPath(config as unknown as Plain, key, mine);
      continue;
    }
    if (kind === 'model' && !looksLikePath(v)) continue;
    throw new JobRefusedError(
      jobId,
      `${key} = ${JSON.stringify(v)} (${why}) is chosen by the worker, not by a job; give it on the worker (--set ${key}=...) or let jobs choose it (--allow-job-keys ${key})`,
    );
  }
  return { sweepDir, job: data.job, run: data.run, dataset: data.dataset, runDir, config, ...(data.version ? { version: data.version } : {}) };
}

/** The worker's --set values, limited to WORKER_KEYS (anything else is the job's to choose). */
export function workerValuesOf(flat: Record<string, unknown>): Record<string, unknown> {
  const known = new Set(WORKER_KEYS.map((k) => k.key));
  for (const k of Object.keys(flat)) {
    if (!known.has(k)) throw new UserError(`worker --set ${k}: a worker sets only the keys jobs may not choose (${[...known].join(', ')}); everything else comes from the job`);
  }
  return flat;
}

/** Allowed roots as real paths (each must exist). */
export async function realRoots(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      out.push(await realpath(resolve(d)));
    } catch {
      throw new UserError(`--allow-root ${d}: no such directory`);
    }
  }
  return out;
}

export function parseAllowJobKeys(list: string | undefined): Set<string> {
  const keys = new Set((list ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const known = new Set<string>([...WORKER_KEYS.map((k) => k.key), ...WORKER_PATH_KEYS]);
  for (const k of keys) if (!known.has(k)) throw new UserError(`--allow-job-keys ${k}: not a key the worker guards (${[...known].join(', ')})`);
  return keys;
}
