/**
 * A sweep through the job queue for real: a redis-server started here on a free loopback port,
 * `iapas worker` child processes, one of them killed (SIGKILL) in the middle of a job. The
 * killed job is taken over by the other worker, which resumes it from its run directory, and the
 * results table equals the one of the same sweep run locally (with its own cache). Submitting the
 * same sweep again queues nothing; a job that fails for a bad input fails once, with its error in
 * the results, and the sweep goes on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandSweep, type SweepPlan } from '../../../src/session/sweep/expand.js';
import { runSweepLocal } from '../../../src/session/sweep/local.js';
import { connectionOf, QUEUE_NAME, queueJobId, submitSweep } from '../../../src/session/sweep/queue.js';
import { writeSweepReport } from '../../../src/session/sweep/finish.js';
import { MEASURE_COLUMNS } from '../../../src/session/sweep/results.js';
import { readJobResult } from '../../../src/run-directory/sweep-result.js';
import { parseSweepSpec } from '../../../src/session/sweep/spec.js';
import { prepareSweepDir } from '../../../src/session/sweep/sweep-dir.js';
import { generateSyntheticDataset } from '../../../src/synth/index.js';
import { codeVersion } from '../../../src/util/version.js';
import { runCli } from '../../support/cli.js';
import { redisServerPath, startRedis, type RedisServer } from '../../support/redis.js';
import { REPO_ROOT } from '../../support/shared.js';

const HAVE_REDIS = redisServerPath() !== undefined;
const NAME = 'a sweep through BullMQ workers on a real redis-server';

let root: string;
let data: string;
let redis: RedisServer | undefined;
// Submitter and workers share a secret: every job of these sweeps is signed and checked.
const SECRET = 'queue-test-secret-0123456789abcdef';
const workers: WorkerProcess[] = [];

interface WorkerProcess {
  child: ChildProcess;
  log(): string;
  exited: Promise<void>;
}

function startWorker(): WorkerProcess {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin/iapas.js'), 'worker', '--queue', redis!.url, '--lock-duration', '10', '--stalled-interval', '2', '--quiet'],
    { cwd: root, env: { ...process.env, IAPAS_QUIET: '1', IAPAS_QUEUE_SECRET: SECRET }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const w = { child, log: () => log, exited: new Promise<void>((resolve) => child.once('exit', () => resolve())) };
  workers.push(w);
  return w;
}

/** Polls `check` until it holds, at most `ms` milliseconds. */
async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function imagesDone(runDir: string): Promise<number> {
  try {
    return (await readdir(join(runDir, 'categories'), { recursive: true })).filter((f) => f.includes('images') && f.endsWith('.json')).length;
  } catch {
    return 0;
  }
}

async function plan(out: string, cache: string, datasets: unknown[] = [data], grid: Record<string, unknown[]> = { 'fewshot.threshold': ['adaptive', 'fixed:0.3'], 'fewshot.boost': [1, 2] }): Promise<SweepPlan> {
  const raw = { base: { preset: 'fewshot', set: { 'references.k': 2, cache_dir: join(root, cache), concurrency: 1 } }, datasets, grid };
  return expandSweep(await parseSweepSpec(raw, join(root, 'spec.yaml')), { out: join(root, out) });
}

async function resultsWithoutMeasures(dir: string): Promise<string> {
  const lines = (await readFile(join(dir, 'results.csv'), 'utf8')).trim().split('\n').map((l) => l.split(','));
  const drop = new Set(MEASURE_COLUMNS.map((c) => lines[0].indexOf(c)));
  return lines.map((l) => l.filter((_, i) => !drop.has(i)).join(',')).join('\n');
}

describe.skipIf(!HAVE_REDIS)(HAVE_REDIS ? NAME : `${NAME} [skipped: redis-server not found; apt-get install -y redis-server]`, () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iapas-sweep-queue-'));
    data = join(root, 'data');
    await generateSyntheticDataset(data, { seed: 3, categories: ['disc'], size: 128, counts: { train: 2, testGood: 1, anomalous: 3 } });
    redis = await startRedis();
  });

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.race([Promise.all(workers.map((w) => w.exited)), new Promise((r) => setTimeout(r, 15_000))]);
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('two workers, one killed mid-job, give the results of the local sweep; submitting again queues nothing', async () => {
    const local = await plan('local', 'cache-local');
    await runSweepLocal(local, { quiet: true });
    await writeSweepReport(local);

    const queued = await plan('queued', 'cache-queue');
    await prepareSweepDir(queued, false);
    let submitError: unknown;
    const submitted = submitSweep(queued, { url: redis!.url, quiet: true, timeoutS: 400, pollMs: 200, secret: SECRET, warn: () => {} }).catch((err) => {
      submitError = err;
      return undefined;
    });
    const first = startWorker();
    const leader = queued.jobs[0];
    // The first worker is in the middle of the leader job: some of its images are on disk, its result is not.
    await waitFor('the first worker to be mid-job', async () => submitError !== undefined || ((await imagesDone(leader.runDir)) >= 1 && !(await readJobResult(leader.runDir))), 300_000);
    expect(submitError).toBeUndefined();
    const second = startWorker();
    first.child.kill('SIGKILL');
    await first.exited;

    const outcome = await submitted;
    expect(submitError).toBeUndefined();
    expect(outcome).toMatchObject({ enqueued: 4, skipped: 0, completed: 4, failed: 0, detached: false });
    await writeSweepReport(queued);
    expect(await resultsWithoutMeasures(queued.dir)).toBe(await resultsWithoutMeasures(local.dir));
    expect((await readFile(join(queued.dir, 'results.csv'), 'utf8')).split('\n')[0]).toBe((await readFile(join(local.dir, 'results.csv'), 'utf8')).split('\n')[0]);

    // The second worker took the killed job over after its lock expired and resumed it.
    expect(first.log()).toContain(`${leader.id}: started (attempt 1)`);
    expect(second.log()).toMatch(new RegExp(`${leader.id}: started \\(attempt 1, after 1 stall\\(s\\)\\)`));
    // Its run-directory lock, left by the killed worker, named this job: released (on any host).
    expect(second.log()).toContain(`${queueJobId(queued, leader)}: released the run directory lock of its previous attempt`);
    const timing = JSON.parse(await readFile(join(leader.runDir, 'timing.json'), 'utf8'));
    expect(timing.categories[0].skipped).toBeGreaterThanOrEqual(1);
    expect(timing.categories[0].skipped + timing.categories[0].computed).toBe(4);
    // Signed jobs ran; each result names the code that computed it.
    expect((await readJobResult(leader.runDir))?.computed_by).toEqual(codeVersion());
    for (const w of [first, second]) expect(w.log()).not.toContain('REFUSED');
    process.stderr.write(`queue test, second worker:\n${second.log()}\n`);

    // Submitting the same sweep again: nothing is queued, nothing runs, the queue holds 4 jobs.
    await prepareSweepDir(queued, true);
    const again = await submitSweep(queued, { url: redis!.url, quiet: true, timeoutS: 60, pollMs: 200, secret: SECRET, warn: () => {} });
    expect(again).toMatchObject({ enqueued: 0, skipped: 4, completed: 0 });
    const queue = new Queue(QUEUE_NAME, { connection: connectionOf(redis!.url) });
    try {
      const counts = await queue.getJobCounts();
      expect(counts).toMatchObject({ completed: 4, failed: 0, active: 0, waiting: 0 });
      const job = await queue.getJob(queueJobId(queued, leader));
      expect(job?.returnvalue).toMatchObject({ status: 'done' });
    } finally {
      await queue.close();
    }
  }, 300_000); // a 2-core machine under load takes close to the default 120 s

  it('a job that fails for a bad input fails once with its error in the results; the others complete', async () => {
    const p = await plan('bad-input', 'cache-queue', [data, { path: join(root, 'no-such-data'), name: 'missing' }], { 'fewshot.boost': [1] });
    await prepareSweepDir(p, false);
    const outcome = await submitSweep(p, { url: redis!.url, quiet: true, timeoutS: 120, pollMs: 200, secret: SECRET, warn: () => {} });
    expect(outcome).toMatchObject({ enqueued: 2, completed: 1, failed: 1, detached: false });
    const report = await writeSweepReport(p);
    const missing = report.rows.find((r) => r.dataset === 'missing')!;
    expect(missing.error).toContain(`dataset root not found: ${join(root, 'no-such-data')}`);
    expect(report.rows.find((r) => r.dataset === 'data' && r.category === 'mean')!.pixel_ap).toBeGreaterThan(0);
    const queue = new Queue(QUEUE_NAME, { connection: connectionOf(redis!.url) });
    try {
      const job = await queue.getJob(queueJobId(p, p.jobs.find((j) => j.dataset.label === 'missing')!));
      // A bad input is not retried.
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toContain('dataset root not found');
    } finally {
      await queue.close();
    }
  });

  it('--queue --resume re-checks finished jobs: one on a changed image is queued again and the table is that of a fresh sweep', async () => {
    const changing = join(root, 'changing');
    await generateSyntheticDataset(changing, { seed: 5, categories: ['disc'], size: 128, counts: { train: 2, testGood: 1, anomalous: 3 } });
    const spec = { base: { preset: 'fewshot', set: { 'references.k': 2, cache_dir: join(root, 'cache-changing'), concurrency: 1 } }, datasets: [changing], grid: { 'fewshot.boost': [1] } };
    const file = join(root, 'changing.json');
    await writeFile(file, JSON.stringify(spec));
    const out = join(root, 'queued-changing');
    expect((await runCli(['sweep', file, '--out', out, '--quiet'])).code).toBe(0);
    await copyFile(join(changing, 'disc', 'test', 'good', '000.png'), join(changing, 'disc', 'test', 'stain', '000.png'));

    startWorker();
    const resumed = await runCli(['sweep', file, '--out', out, '--queue', redis!.url, '--resume', '--timeout', '300', '--quiet'], { IAPAS_QUEUE_SECRET: SECRET });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/1 finished job\(s\) re-run for changed inputs:\n {2}r00\/changing: disc\/\S*stain\S*: image changed/);
    expect(resumed.stderr).toContain('1 job(s) queued, 0 already finished, 1 completed');
    expect((await runCli(['sweep', file, '--out', join(root, 'fresh-changing'), '--quiet'])).code).toBe(0);
    expect(await resultsWithoutMeasures(out)).toBe(await resultsWithoutMeasures(join(root, 'fresh-changing')));
  });
});
