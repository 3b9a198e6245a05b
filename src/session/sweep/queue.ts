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
 * - A job is a request: the worker admits it (job-admission.ts: schema, allowed roots, keys only
 *   the worker chooses, signature) before it writes anything; a refused job fails at once.
 * - Jobs carry the submitter's code version; a worker of other code puts the job back (delayed,
 *   attempts untouched) for a worker of the same code, as it does for a job whose previous
 *   attempt still runs on this host.
 */
import { readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DelayedError, Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { RunResources } from '../../pipeline/resources.js';
import { isStale, LOCK_FILE, readRunLock } from '../../run-directory/lock.js';
import { UserError } from '../../util/errors.js';
import { createOuterProgress } from '../../util/progress.js';
import { maskUrlPassword, urlHasPassword } from '../../util/url-mask.js';
import { codeVersion, formatVersion, sameCode, type CodeVersion } from '../../util/version.js';
import type { SweepJob, SweepPlan } from './expand.js';
import { admitJob, checkEnvelope, JobRefusedError, type AdmissionPolicy } from './job-admission.js';
import { signJob } from './job-signature.js';
import { readJobResult } from '../../run-directory/sweep-result.js';
import { jobData, runJob, writeJobFailure, type SweepJobData } from './run-job.js';
import { sweepKey } from './sweep-dir.js';

export const QUEUE_NAME = 'iapas-sweep';
const ATTEMPTS = 3;
const CONNECT_TIMEOUT_MS = 10_000;

export function connectionOf(url: string): ConnectionOptions {
  let u: URL;
  const bad = () => new UserError(`--queue expects redis://[:password@]host:port[/db] or rediss://..., got '${maskUrlPassword(url)}'`);
  try {
    u = new URL(url);
  } catch {
    throw bad();
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad();
  // Workers block on Redis: BullMQ needs maxRetriesPerRequest null.
  return { url, maxRetriesPerRequest: null };
}

/** The warning for a Redis URL without a password (anyone who reaches the server can add jobs). */
export function noPasswordWarning(url: string): string | undefined {
  if (urlHasPassword(url)) return undefined;
  return `WARNING: ${maskUrlPassword(url)} has no password: anyone who can reach it can add jobs. Set one (redis-server --requirepass, then redis://:password@host:port) and sign jobs (IAPAS_QUEUE_SECRET)`;
}

/** Errors that waiting cannot cure: authentication, TLS. */
function isFatalRedisError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return /NOAUTH|WRONGPASS|invalid password|invalid username|AUTH.*(failed|called without)|certificate|self[- ]signed|SSL|TLS/i.test(`${err.message} ${code}`) || /^(CERT_|UNABLE_TO_|DEPTH_ZERO|ERR_TLS|ERR_SSL)/.test(code);
}

function redisHint(err: Error): string {
  const text = `${err.message} ${(err as NodeJS.ErrnoException).code ?? ''}`;
  if (/NOAUTH/i.test(text)) return 'the server wants a password: put it in the URL, redis://:password@host:port';
  if (/WRONGPASS|invalid password|invalid username/i.test(text)) return 'wrong password (or user) in the URL';
  if (/certificate|self[- ]signed|UNABLE_TO_|CERT_|DEPTH_ZERO/i.test(text)) return "the server's TLS certificate is not trusted here: point NODE_EXTRA_CA_CERTS at its CA's PEM file";
  return 'check the URL and the server';
}

/** Waits until the client is connected, or fails with a one-line error naming the URL (password masked) and Redis's own error. */
async function ready(what: { waitUntilReady(): Promise<unknown>; getBackend(): { client: Promise<{ runCommand(name: string, args: unknown[]): Promise<unknown> }> }; on(event: 'error', fn: (err: Error) => void): unknown; off(event: 'error', fn: (err: Error) => void): unknown }, url: string): Promise<void> {
  const shown = maskUrlPassword(url);
  let timer: NodeJS.Timeout | undefined;
  let last: Error | undefined;
  let onError: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    onError = (err: Error) => {
      last = err;
      if (isFatalRedisError(err)) reject(new UserError(`Redis at ${shown}: ${err.message}; ${redisHint(err)}`));
    };
    what.on('error', onError);
    timer = setTimeout(
      () => reject(new UserError(`cannot reach Redis at ${shown} (no answer in ${CONNECT_TIMEOUT_MS / 1000} s${last ? `; last error: ${last.message}` : ''}); is redis-server running there?`)),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    const check = async () => {
      await what.waitUntilReady();
      // A server that wants a password still connects; its first command answers NOAUTH.
      await (await what.getBackend().client).runCommand('ping', []);
    };
    await Promise.race([
      check().catch(async (err: Error) => {
        if (isFatalRedisError(err)) throw new UserError(`Redis at ${shown}: ${err.message}; ${redisHint(err)}`);
        // "Connection is closed" may come before the error event that says why (WRONGPASS).
        await new Promise((r) => setTimeout(r, 500));
        throw last && isFatalRedisError(last) ? new UserError(`Redis at ${shown}: ${last.message}; ${redisHint(last)}`) : err;
      }),
      failed,
    ]);
  } finally {
    clearTimeout(timer);
    what.off('error', onError);
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
  /** Signs every job (job-signature.ts); workers with the same secret accept only signed jobs. */
  secret?: string;
  /** Warnings (no password, no secret); default stderr. */
  warn?: (line: string) => void;
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
  const shown = maskUrlPassword(opts.url);
  const warn = opts.warn ?? ((line: string) => process.stderr.write(line + '\n'));
  const noPassword = noPasswordWarning(opts.url);
  if (noPassword) warn(noPassword);
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
      outcome.enqueued += await enqueue(queue, plan, wave, opts.secret);
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
            await enqueue(queue, plan, [job], opts.secret);
          }
        }
        progress.update(finished + wave.length - open.size);
        if (open.size === 0) break;
        if (!warnedNoWorker && Date.now() - started > 10_000 && (await queue.getWorkersCount()) === 0) {
          warnedNoWorker = true;
          progress.log(`no worker is connected to ${shown} yet; start some with: iapas worker --queue ${shown} (code ${formatVersion(codeVersion())}: workers of other code leave these jobs)`);
        }
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      }
      finished += wave.length;
    }
    return outcome;
  } catch (err) {
    if (lastError && !(err instanceof UserError)) throw new UserError(`queue ${shown}: ${lastError.message}`);
    throw err;
  } finally {
    progress.stop();
    await closeWithin(queue);
  }
}

/** Adds jobs not in the queue; a failed one (from an earlier submission) is retried. Returns how many were (re)queued. */
async function enqueue(queue: Queue<SweepJobData>, plan: SweepPlan, jobs: SweepJob[], secret: string | undefined): Promise<number> {
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
        data: secret ? signJob(queueJobId(plan, job), jobData(plan.dir, job), secret) : jobData(plan.dir, job),
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
 * A job BullMQ hands out again (its worker stopped renewing the job's lock: killed, cut off, or
 * too busy to renew) may find the run-directory lock of its previous attempt. On this host the
 * lock says whether that attempt still runs: a live one keeps the directory ('live': the job waits
 * for it), a dead one's lock is released. From another host nothing can be checked; BullMQ
 * already decided that this worker now holds the job, so the lock is released. Any other lock
 * (an `iapas run` in that directory) is respected.
 */
async function releasePreviousAttempt(runDir: string, jobId: string, log: (line: string) => void): Promise<'live' | undefined> {
  const owner = await readRunLock(runDir);
  if (!owner || owner.command !== lockCommand(jobId) || (owner.pid === process.pid && owner.host === hostname())) return undefined;
  if (owner.host === hostname() && !isStale(owner)) return 'live';
  const path = join(runDir, LOCK_FILE);
  const text = await readFile(path, 'utf8').catch(() => '');
  if (text.includes(owner.token)) {
    await unlink(path).catch(() => undefined);
    log(`${jobId}: released the run directory lock of its previous attempt (pid ${owner.pid} on ${owner.host})`);
  }
  return undefined;
}

export interface WorkerOptions {
  url: string;
  /** Jobs at once in this process (each with its own models in memory). */
  concurrency?: number;
  /**
   * What jobs may ask for (job-admission.ts). Default: roots = the working directory, no secret,
   * no job-chosen worker keys, the models directory of the working directory ($IAPAS_MODELS).
   */
  policy: AdmissionPolicy;
  /** How long a job's lock lasts without renewal before the job counts as stalled (ms). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (ms). */
  stalledIntervalMs?: number;
  /** How long a job left for other code, or for its live previous attempt, waits before it is handed out again (ms). */
  putBackMs?: number;
  /** Exit after this many seconds without a job. */
  idleExitS?: number;
  signal?: AbortSignal;
  quiet?: boolean;
  log?: (line: string) => void;
  /** This worker's code (default: this process's); jobs of other code are left for others. */
  version?: CodeVersion;
}

export interface WorkerOutcome {
  completed: number;
  failed: number;
  /** Jobs put back for a worker of their code or for their live previous attempt (each time counted). */
  putBack: number;
  /** Longest event-loop block while a job ran (ms): BullMQ renews job locks from this loop. */
  maxEventLoopBlockMs: number;
}

export const DEFAULT_LOCK_DURATION_MS = 30_000;

/** Processes sweep jobs until the signal (then finishes the jobs in hand) or the idle limit. */
export async function runWorker(opts: WorkerOptions): Promise<WorkerOutcome> {
  const connection = connectionOf(opts.url);
  const concurrency = opts.concurrency ?? 1;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const shown = maskUrlPassword(opts.url);
  const mine = opts.version ?? codeVersion();
  const lockDurationMs = opts.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;
  const putBackMs = opts.putBackMs ?? 10_000;
  const free = Array.from({ length: concurrency }, () => new RunResources());
  const all = [...free];
  const outcome: WorkerOutcome = { completed: 0, failed: 0, putBack: 0, maxEventLoopBlockMs: 0 };
  const leftOnce = new Set<string>();
  let active = 0;
  let lastActivity = Date.now();

  const putBack = async (job: Job<SweepJobData>, token: string | undefined, why: string): Promise<never> => {
    outcome.putBack++;
    if (!leftOnce.has(`${job.id}\0${why}`)) log(`${job.id}: left in the queue: ${why}`);
    leftOnce.add(`${job.id}\0${why}`);
    await job.moveToDelayed(Date.now() + putBackMs, token);
    throw new DelayedError();
  };

  const processor = async (job: Job<SweepJobData>, token?: string) => {
    const id = job.id!;
    let data: SweepJobData;
    try {
      const raw = checkEnvelope(id, job.data, opts.policy);
      const theirs = raw.version as CodeVersion | undefined;
      if (!theirs || typeof theirs.version !== 'string' || !sameCode(theirs, mine)) {
        await putBack(job, token, `submitted by code ${theirs?.version ? formatVersion(theirs) : '(no version)'}, this worker runs ${formatVersion(mine)}; a worker of that code takes it`);
      }
      data = await admitJob(id, raw, opts.policy);
    } catch (err) {
      if (!(err instanceof JobRefusedError)) throw err;
      outcome.failed++;
      log(`${id}: REFUSED: ${err.message}`);
      throw new UnrecoverableError(err.message);
    }
    if (job.attemptsMade > 0 || job.stalledCounter > 0) {
      if ((await releasePreviousAttempt(data.runDir, id, log)) === 'live') await putBack(job, token, 'its previous attempt still runs in its run directory on this host (its job lock lapsed: a blocked event loop, or --lock-duration too short)');
    }
    // BullMQ runs at most `concurrency` processors at once: a slot is always free.
    const resources = free.pop()!;
    active++;
    lastActivity = Date.now();
    log(`${data.job}: started (attempt ${job.attemptsMade + 1}${job.stalledCounter ? `, after ${job.stalledCounter} stall(s)` : ''})`);
    // BullMQ renews the job's lock from this event loop every lockDuration / 2: a longer block loses it.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const blockedMs = () => Math.round(loop.max / 1e6);
    loop.enable();
    try {
      const result = await runJob(data, { resources, quiet: opts.quiet || concurrency > 1, command: lockCommand(id) });
      if (!result) throw new Error('the run stopped before its end');
      if (result.status === 'failed') {
        outcome.failed++;
        log(`${data.job}: FAILED: ${result.error}`);
        throw new UnrecoverableError(result.error ?? 'failed');
      }
      outcome.completed++;
      log(`${data.job}: done in ${result.wall_s} s (longest event-loop block ${blockedMs()} ms)`);
      return { status: result.status, wall_s: result.wall_s, computed_by: result.computed_by };
    } finally {
      loop.disable();
      const blockMs = blockedMs();
      outcome.maxEventLoopBlockMs = Math.max(outcome.maxEventLoopBlockMs, blockMs);
      if (blockMs > lockDurationMs / 4) log(`${data.job}: WARNING: the event loop was blocked for ${blockMs} ms; job locks are renewed every ${lockDurationMs / 2000} s: raise --lock-duration`);
      active--;
      lastActivity = Date.now();
      free.push(resources);
    }
  };

  const worker = new Worker<SweepJobData>(QUEUE_NAME, processor, {
    connection,
    concurrency,
    name: `${hostname()}:${process.pid}`,
    lockDuration: lockDurationMs,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    // A job may be taken over after a killed worker a few times before it counts as failed.
    maxStalledCount: 3,
    autorun: false,
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
    try {
      await ready(worker, opts.url);
    } catch (err) {
      // Stopped while connecting: nothing was taken, nothing to report.
      if (opts.signal?.aborted) return outcome;
      throw err;
    }
    connected = true;
    const p = opts.policy;
    log(`worker ${hostname()}:${process.pid} on ${shown}, ${concurrency} job(s) at once, code ${formatVersion(mine)}; writes under ${p.roots.join(', ')}; ${p.secret ? 'runs signed jobs only' : 'no queue secret: jobs are not signed'}`);
    const noPassword = noPasswordWarning(opts.url);
    if (noPassword) log(noPassword);
    void worker.run().catch((err: Error) => log(`queue: ${err.message}`));
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
