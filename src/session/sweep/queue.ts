/**
 * Sweeps over machines through a standard job queue: BullMQ on Redis. The sweep enqueues one job
 * per (run, dataset) and waits; `iapas worker` processes on any number of machines take jobs and
 * run them exactly as a local sweep does (run-job.ts), into run directories and a model cache on a
 * filesystem every worker sees. The sweep then gathers the results from those directories, so a
 * job computed twice is still counted once.
 *
 * - Idempotent: a job's id is (sweep key, run, dataset); adding an id the queue holds is a no-op,
 *   and a job whose result is on disk is not enqueued again.
 * - Model outputs once: the leaders (one job per dataset and model signature, expand.ts) are
 *   enqueued and finished first; the followers then find every model output in the cache.
 * - A worker killed mid-job (even SIGKILL) stops renewing the job's lock; after `lockDuration` a
 *   worker's stalled check puts the job back and another worker resumes it from its run directory.
 * - A job that fails for a bad input (UserError: bad dataset path, invalid combination of values,
 *   missing model) fails at once with its error recorded; other errors are retried (3 attempts).
 */
import { readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { RunResources } from '../../pipeline/resources.js';
import { LOCK_FILE, readRunLock } from '../../pipeline/run-lock.js';
import { UserError } from '../../util/errors.js';
import { createOuterProgress } from '../../util/progress.js';
import type { SweepJob, SweepPlan } from './expand.js';
import { jobData, readJobResult, runJob, writeJobFailure, type SweepJobData } from './run-job.js';
import { sweepKey } from './sweep-dir.js';

export const QUEUE_NAME = 'iapas-sweep';
const ATTEMPTS = 3;
const CONNECT_TIMEOUT_MS = 10_000;

export function connectionOf(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--queue expects redis://host:port[/db], got '${url}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UserError(`--queue expects redis://host:port[/db], got '${url}'`);
  // Workers block on Redis: BullMQ needs maxRetriesPerRequest null.
  return { url, maxRetriesPerRequest: null };
}

/** Waits until the client is connected, or fails with a one-line error naming the URL. */
async function ready(what: { waitUntilReady(): Promise<void> }, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UserError(`cannot reach Redis at ${url} (no answer in ${CONNECT_TIMEOUT_MS / 1000} s); is redis-server running there?`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([what.waitUntilReady(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a BullMQ client without waiting forever on a Redis that never answered. */
async function closeWithin(what: { close(force?: boolean): Promise<void> }, ms = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([what.close(true).catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** A log that says a repeated error once (a lost connection is reported every retry). */
function errorLog(log: (line: string) => void): (err: Error) => void {
  let last = '';
  return (err) => {
    if (err.message !== last) log(`queue: ${err.message}`);
    last = err.message;
  };
}

export function queueJobId(plan: SweepPlan, job: SweepJob): string {
  // BullMQ ids may not contain ':'; run ids and dataset labels hold none.
  return `${sweepKey(plan)}_${job.run.id}_${job.dataset.label}`;
}

export interface SubmitOptions {
  url: string;
  signal?: AbortSignal;
  /** Stop waiting after this many seconds (the jobs stay queued). */
  timeoutS?: number;
  quiet?: boolean;
  /** Poll interval of the job states, ms. */
  pollMs?: number;
}

export interface SubmitOutcome {
  enqueued: number;
  /** Jobs whose result was on disk before this call. */
  skipped: number;
  completed: number;
  failed: number;
  /** True when waiting stopped (signal or timeout) before every job finished. */
  detached: boolean;
}

/**
 * Enqueues the plan's unfinished jobs (leaders first, then the rest) and waits for them. The
 * sweep directory must be prepared (prepareSweepDir) before.
 */
export async function submitSweep(plan: SweepPlan, opts: SubmitOptions): Promise<SubmitOutcome> {
  const connection = connectionOf(opts.url);
  const queue = new Queue<SweepJobData>(QUEUE_NAME, { connection });
  let lastError: Error | undefined;
  queue.on('error', (err) => (lastError = err));
  const outcome: SubmitOutcome = { enqueued: 0, skipped: 0, completed: 0, failed: 0, detached: false };
  const progress = createOuterProgress(`sweep ${plan.spec.name} (queue)`, plan.jobs.length, { quiet: opts.quiet, unit: 'jobs' });
  const started = Date.now();
  try {
    await ready(queue, opts.url);
    const todo: SweepJob[] = [];
    for (const job of plan.jobs) {
      if ((await readJobResult(job.runDir))?.status === 'done') outcome.skipped++;
      else todo.push(job);
    }
    let finished = outcome.skipped;
    progress.update(finished);
    const waves = [todo.filter((j) => j.leader), todo.filter((j) => !j.leader)];
    let warnedNoWorker = false;
    for (const wave of waves) {
      if (wave.length === 0) continue;
      outcome.enqueued += await enqueue(queue, plan, wave);
      const open = new Map(wave.map((j) => [queueJobId(plan, j), j]));
      // Bounded by the timeout and the signal; each round costs one state query per open job.
      while (open.size > 0) {
        if (opts.signal?.aborted || (opts.timeoutS !== undefined && Date.now() - started > opts.timeoutS * 1000)) {
          outcome.detached = true;
          return outcome;
        }
        for (const [id, job] of [...open]) {
          const state = await queue.getJobState(id);
          if (state === 'completed') {
            open.delete(id);
            outcome.completed++;
          } else if (state === 'failed') {
            open.delete(id);
            const result = await readJobResult(job.runDir);
            if (result?.status === 'done') {
              // Finished by a worker whose lock had lapsed while another attempt failed: the
              // result on disk is complete and counts.
              outcome.completed++;
              continue;
            }
            outcome.failed++;
            const j = await queue.getJob(id);
            // The worker records bad-input failures itself; a job that failed otherwise (bug,
            // environment, retries exhausted) gets BullMQ's reason.
            if (result?.status !== 'failed') await writeJobFailure(jobData(plan.dir, job), j?.failedReason || 'failed in the queue');
            progress.log(`${job.id}: FAILED: ${j?.failedReason ?? 'unknown reason'}`);
          } else if (state === 'unknown') {
            // Removed from the queue by someone else: add it again.
            await enqueue(queue, plan, [job]);
          }
        }
        progress.update(finished + wave.length - open.size);
        if (open.size === 0) break;
        if (!warnedNoWorker && Date.now() - started > 10_000 && (await queue.getWorkersCount()) === 0) {
          warnedNoWorker = true;
          progress.log(`no worker is connected to ${opts.url} yet; start some with: iapas worker --queue ${opts.url}`);
        }
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      }
      finished += wave.length;
    }
    return outcome;
  } catch (err) {
    if (lastError && !(err instanceof UserError)) throw new UserError(`queue ${opts.url}: ${lastError.message}`);
    throw err;
  } finally {
    progress.stop();
    await closeWithin(queue);
  }
}

/** Adds jobs not in the queue; a failed one (from an earlier submission) is retried. Returns how many were (re)queued. */
async function enqueue(queue: Queue<SweepJobData>, plan: SweepPlan, jobs: SweepJob[]): Promise<number> {
  const fresh: SweepJob[] = [];
  let requeued = 0;
  for (const job of jobs) {
    const id = queueJobId(plan, job);
    const state = await queue.getJobState(id);
    if (state === 'unknown') fresh.push(job);
    else if (state === 'failed') {
      await (await queue.getJob(id))?.retry('failed');
      requeued++;
    } else if (state === 'completed') {
      // Completed in the queue but no result on disk (the directory was cleared): run it again.
      await queue.remove(id);
      fresh.push(job);
    }
  }
  if (fresh.length) {
    await queue.addBulk(
      fresh.map((job) => ({
        name: job.id,
        data: jobData(plan.dir, job),
        opts: {
          jobId: queueJobId(plan, job),
          attempts: ATTEMPTS,
          backoff: { type: 'exponential', delay: 2000 },
          removeOnComplete: { age: 7 * 24 * 3600 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      })),
    );
  }
  return fresh.length + requeued;
}

/** What a worker writes as the owner of a job's run-directory lock. */
function lockCommand(jobId: string): string {
  return `iapas worker ${jobId}`;
}

/**
 * A job BullMQ hands out again (its worker stopped renewing the job's lock: killed, or cut off)
 * may find the run-directory lock of its previous attempt. The run lock can tell a dead owner
 * only on its own host; BullMQ already decided, for any host: this worker now holds the job, so
 * a run lock naming this same job is released. Any other lock (an `iapas run` in that directory)
 * is respected.
 */
async function releasePreviousAttempt(runDir: string, jobId: string, log: (line: string) => void): Promise<void> {
  const owner = await readRunLock(runDir);
  if (!owner || owner.command !== lockCommand(jobId) || (owner.pid === process.pid && owner.host === hostname())) return;
  const path = join(runDir, LOCK_FILE);
  const text = await readFile(path, 'utf8').catch(() => '');
  if (text.includes(owner.token)) {
    await unlink(path).catch(() => undefined);
    log(`${jobId}: released the run directory lock of its previous attempt (pid ${owner.pid} on ${owner.host})`);
  }
}

export interface WorkerOptions {
  url: string;
  /** Jobs at once in this process (each with its own models in memory). */
  concurrency?: number;
  /** Override the jobs' model-output cache and models directories (paths as this machine sees them). */
  cacheDir?: string;
  modelsDir?: string;
  /** How long a job's lock lasts without renewal before the job counts as stalled (ms). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (ms). */
  stalledIntervalMs?: number;
  /** Exit after this many seconds without a job. */
  idleExitS?: number;
  signal?: AbortSignal;
  quiet?: boolean;
  log?: (line: string) => void;
}

export interface WorkerOutcome {
  completed: number;
  failed: number;
}

/** Processes sweep jobs until the signal (then finishes the jobs in hand) or the idle limit. */
export async function runWorker(opts: WorkerOptions): Promise<WorkerOutcome> {
  const connection = connectionOf(opts.url);
  const concurrency = opts.concurrency ?? 1;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const free = Array.from({ length: concurrency }, () => new RunResources());
  const all = [...free];
  const outcome: WorkerOutcome = { completed: 0, failed: 0 };
  let active = 0;
  let lastActivity = Date.now();

  const processor = async (job: Job<SweepJobData>) => {
    // BullMQ runs at most `concurrency` processors at once: a slot is always free.
    const resources = free.pop()!;
    active++;
    lastActivity = Date.now();
    const data: SweepJobData = {
      ...job.data,
      config: { ...job.data.config, ...(opts.cacheDir ? { cache_dir: opts.cacheDir } : {}), ...(opts.modelsDir ? { models_dir: opts.modelsDir } : {}) },
    };
    log(`${data.job}: started (attempt ${job.attemptsMade + 1}${job.stalledCounter ? `, after ${job.stalledCounter} stall(s)` : ''})`);
    try {
      if (job.attemptsMade > 0 || job.stalledCounter > 0) await releasePreviousAttempt(data.runDir, job.id!, log);
      const result = await runJob(data, { resources, quiet: opts.quiet || concurrency > 1, command: lockCommand(job.id!) });
      if (!result) throw new Error('the run stopped before its end');
      if (result.status === 'failed') {
        outcome.failed++;
        log(`${data.job}: FAILED: ${result.error}`);
        throw new UnrecoverableError(result.error ?? 'failed');
      }
      outcome.completed++;
      log(`${data.job}: done in ${result.wall_s} s`);
      return { status: result.status, wall_s: result.wall_s };
    } finally {
      active--;
      lastActivity = Date.now();
      free.push(resources);
    }
  };

  const worker = new Worker<SweepJobData>(QUEUE_NAME, processor, {
    connection,
    concurrency,
    name: `${hostname()}:${process.pid}`,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    // A job may be taken over after a killed worker a few times before it counts as failed.
    maxStalledCount: 3,
  });
  worker.on('error', errorLog(log));
  const closed = new Promise<void>((resolve) => worker.on('closed', () => resolve()));
  const stop = () => void worker.close();
  opts.signal?.addEventListener('abort', stop, { once: true });
  const idle = opts.idleExitS
    ? setInterval(() => {
        if (active === 0 && Date.now() - lastActivity > opts.idleExitS! * 1000) stop();
      }, 500)
    : undefined;
  let connected = false;
  try {
    await ready(worker, opts.url);
    connected = true;
    log(`worker ${hostname()}:${process.pid} on ${opts.url}, ${concurrency} job(s) at once`);
    // Resolves when the worker is closed (signal or idle limit).
    await closed;
  } finally {
    if (idle) clearInterval(idle);
    opts.signal?.removeEventListener('abort', stop);
    // A worker that never reached Redis has nothing to finish, and a graceful close would wait for it.
    if (connected) await worker.close();
    else await closeWithin(worker);
    for (const r of all) await r.dispose();
  }
  return outcome;
}
