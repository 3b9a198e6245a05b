/**
 * The sweep directory, on a path every worker sees:
 *
 *   sweep.json                      what was asked (spec identity), the runs and their configs' hashes
 *   runs/<run>/<dataset>/           one `iapas run` directory per job (+ sweep-result.json: sweep-result.ts)
 *   results.csv, results.json       one row per (run, dataset, category) plus mean rows (sweep-results-file.ts)
 *   summary.txt                     best points and each key's range around the best
 *   sweep.lock                      held by the one `iapas sweep` working on the directory
 *
 * One sweep at a time works on a directory (its lock is lock.ts's, under another name): two would
 * each rewrite the tables with what they saw last. Which spec a directory belongs to, and
 * continuing it, is session/sweep/sweep-dir.ts's.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { Plain } from '../config/load.js';
import { writeJsonAtomic } from '../util/fs-atomic.js';
import { UserError } from '../util/errors.js';
import { parseFile, readJson } from './json-file.js';
import { acquireRunLock, type RunLock } from './lock.js';

export const MANIFEST_FILE = 'sweep.json';
export const SWEEP_LOCK = 'sweep.lock';

export interface SweepManifest {
  tool: 'iapas sweep';
  name: string;
  spec_file: string;
  /** specIdentity(spec): what the sweep asks for. */
  identity: Plain;
  /** Names the sweep in queue job ids: hash of the directory and the identity. */
  key: string;
  runs: Array<{ id: string; assignment: Record<string, unknown>; config_hash: string }>;
  jobs: Array<{ id: string; run_dir: string; leader: boolean }>;
}

const manifestSchema = z
  .object({
    tool: z.literal('iapas sweep'),
    name: z.string(),
    spec_file: z.string(),
    identity: z.record(z.unknown()),
    key: z.string(),
    runs: z.array(z.object({ id: z.string(), assignment: z.record(z.unknown()), config_hash: z.string() }).passthrough()),
    jobs: z.array(z.object({ id: z.string(), run_dir: z.string(), leader: z.boolean() }).passthrough()),
  })
  .passthrough();

/**
 * Takes the sweep directory's lock (creating the directory), or throws naming its holder: pid,
 * host and start time. A lock whose process is gone from this host is taken over.
 */
export function acquireSweepLock(dir: string, command = 'iapas sweep'): Promise<RunLock> {
  return acquireRunLock(dir, { file: SWEEP_LOCK, command, dirFlag: '--out', what: 'sweep directory' });
}

/** The directory's sweep.json, or undefined when it has none. */
export async function readManifest(dir: string): Promise<SweepManifest | undefined> {
  const path = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = await readJson(path);
  } catch (err) {
    throw new UserError(`${path} is unreadable (${(err as Error).message}); is this a sweep directory?`);
  }
  return json === null ? undefined : (parseFile(manifestSchema, json, path, "an iapas sweep's sweep.json") as SweepManifest);
}

export async function writeManifest(dir: string, manifest: SweepManifest): Promise<void> {
  await writeJsonAtomic(join(dir, MANIFEST_FILE), manifest);
}
