/** Whether a run is still writing its directory, or died writing it: its run.lock, and how many maps are there. */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EvaluationReport } from '../evaluation/metrics-files.js';
import { isStale, LOCK_FILE, readRunLock } from './lock.js';
import type { ImageRecord } from './records.js';

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

/**
 * A run directory whose run.lock is present: 'running' while its owner is alive (or on another host,
 * where that cannot be checked), 'abandoned' when the owner is gone without releasing it (killed).
 * Its metrics.json may then describe fewer, or older, maps than the directory will hold.
 */
export interface RunProgress {
  state: 'running' | 'abandoned';
  owner: { pid: number; host: string; command: string; started: string } | null;
  /** Images the run is known to cover: the larger of its image records and metrics.json's count. */
  expected: number;
  /** Of those, how many have no map file yet. */
  missingMaps: number;
}

/**
 * Null unless the directory's run.lock is present. An unreadable lock counts as held: ours are
 * written complete, so such a file is someone else's and nothing says its writer has ended.
 */
export async function runProgress(dir: string, records: ImageRecord[], metrics: EvaluationReport | null): Promise<RunProgress | null> {
  if (!(await isFile(join(dir, LOCK_FILE)))) return null;
  const owner = await readRunLock(dir);
  let present = 0;
  for (const r of records) if (typeof r.map === 'string' && (await isFile(resolve(dir, r.map)))) present++;
  const expected = Math.max(records.length, metrics?.mean?.n_images ?? 0);
  return {
    state: owner && isStale(owner) ? 'abandoned' : 'running',
    owner: owner ? { pid: owner.pid, host: owner.host, command: owner.command, started: owner.started } : null,
    expected,
    missingMaps: expected - present,
  };
}
