/**
 * A sweep in this process: its jobs one after another in the plan's order, sharing loaded
 * models, decoded images, memory banks and prepared masks (RunResources), every model output
 * going through the content cache. Killed or interrupted, it loses at most the images in flight:
 * `--resume` skips the jobs whose result is on disk and whose inputs are unchanged (recheck.ts)
 * and continues the others from their run directories. A job that fails (bad dataset path,
 * invalid combination of values, missing model, or a bug) is recorded with its error and the
 * sweep goes on.
 */
import { RunResources } from '../../pipeline/resources.js';
import type { ImageRecord } from '../../run-directory/records.js';
import type { RunLock } from '../../run-directory/lock.js';
import { createOuterProgress } from '../../util/progress.js';
import type { SweepPlan } from './expand.js';
import { recheckFinishedJobs, type ChangedJob } from './recheck.js';
import { readJobResult, type JobResult } from '../../run-directory/sweep-result.js';
import { jobData, runJob, writeJobFailure } from './run-job.js';
import { acquireSweepLock } from '../../run-directory/sweep-manifest.js';
import { prepareSweepDir } from './sweep-dir.js';

export interface LocalSweepOptions {
  resume?: boolean;
  signal?: AbortSignal;
  quiet?: boolean;
  /** Called with every image of the running job (e.g. to stop after some). */
  onImage?: (rec: ImageRecord, computed: boolean) => void | Promise<void>;
  /** Called after each job this call finished or found finished. */
  onJob?: (result: JobResult, computed: boolean) => void;
  /** The sweep directory's lock, when the caller holds it (to cover the report too); else taken here. */
  lock?: RunLock;
}

export interface LocalSweepOutcome {
  /** Jobs computed by this call. */
  computed: number;
  /** Jobs found finished (a resumed sweep) and kept: their inputs are as they were. */
  skipped: number;
  /** Jobs found finished whose inputs changed since: run again (counted in `computed` once run). */
  changed: ChangedJob[];
  failed: number;
  aborted: boolean;
  wallSeconds: number;
}

export async function runSweepLocal(plan: SweepPlan, opts: LocalSweepOptions = {}): Promise<LocalSweepOutcome> {
  if (opts.lock && opts.lock.dir !== plan.dir) throw new Error(`runSweepLocal: the lock given is for ${opts.lock.dir}, not ${plan.dir}`);
  const lock = opts.lock ?? (await acquireSweepLock(plan.dir));
  try {
    return await runLocked(plan, opts);
  } finally {
    if (!opts.lock) await lock.release();
  }
}

async function runLocked(plan: SweepPlan, opts: LocalSweepOptions): Promise<LocalSweepOutcome> {
  const t0 = performance.now();
  await prepareSweepDir(plan, !!opts.resume);
  const outcome: LocalSweepOutcome = { computed: 0, skipped: 0, changed: [], failed: 0, aborted: false, wallSeconds: 0 };
  const resources = new RunResources();
  const progress = createOuterProgress(`sweep ${plan.spec.name}`, plan.jobs.length, { quiet: opts.quiet, unit: 'jobs' });
  let done = 0;
  try {
    if (opts.resume) outcome.changed = await recheckFinishedJobs(plan, resources);
    for (const job of plan.jobs) {
      if (opts.signal?.aborted) {
        outcome.aborted = true;
        break;
      }
      const previous = await readJobResult(job.runDir);
      if (previous?.status === 'done') {
        outcome.skipped++;
        progress.update(++done);
        opts.onJob?.(previous, false);
        continue;
      }
      const data = jobData(plan.dir, job);
      let result: JobResult | undefined;
      try {
        result = await runJob(data, { resources, signal: opts.signal, quiet: opts.quiet, onImage: opts.onImage });
      } catch (err) {
        // Not a user error: a bug or an environment problem. Recorded like a failure so the other
        // jobs still run; `--resume` tries it again.
        if (opts.signal?.aborted) throw err;
        result = await writeJobFailure(data, `${(err as Error).message ?? String(err)}`);
      }
      if (!result) {
        outcome.aborted = true;
        break;
      }
      outcome.computed++;
      if (result.status === 'failed') {
        outcome.failed++;
        progress.log(`${job.id}: FAILED: ${result.error}`);
      } else {
        const runs = Object.entries(result.model_runs).filter(([, n]) => n > 0);
        progress.log(`${job.id}: ${result.wall_s} s, model runs: ${runs.length ? runs.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
      }
      progress.update(++done);
      opts.onJob?.(result, true);
    }
  } finally {
    progress.stop();
    await resources.dispose();
  }
  outcome.wallSeconds = +((performance.now() - t0) / 1000).toFixed(2);
  return outcome;
}
