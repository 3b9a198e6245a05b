/**
 * A worker against jobs pushed by hand into a real redis-server, as anyone who can write to it
 * could: run directories outside the worker's roots, an LLM host and key variable of the job's
 * choosing, `__proto__` in the config, unsigned or altered jobs when the worker has a secret,
 * jobs of another code version, a run directory whose previous attempt still runs on this host,
 * and a Redis with a password. The jobs' dataset does not exist, so a job the worker admits ends
 * at once with `dataset root not found` in its sweep-result.json: that file says it ran.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processStartTicks } from '../../../src/run-directory/lock.js';
import { expandSweep } from '../../../src/session/sweep/expand.js';
import type { AdmissionPolicy } from '../../../src/session/sweep/job-admission.js';
import { signJob } from '../../../src/session/sweep/job-signature.js';
import { connectionOf, QUEUE_NAME, runWorker, submitSweep, type WorkerOptions, type WorkerOutcome } from '../../../src/session/sweep/queue.js';
import { readJobResult, RESULT_FILE } from '../../../src/run-directory/sweep-result.js';
import { jobData, type SweepJobData } from '../../../src/session/sweep/run-job.js';
import { parseSweepSpec } from '../../../src/session/sweep/spec.js';
import { prepareSweepDir } from '../../../src/session/sweep/sweep-dir.js';
import { codeVersion } from '../../../src/util/version.js';
import { redisServerPath, startRedis, type RedisServer } from '../../support/redis.js';

const HAVE_REDIS = redisServerPath() !== undefined;
const NAME = 'a worker against hand-made queue jobs on a real redis-server';

let root: string;
let outside: string;
let redis: RedisServer | undefined;
let base: SweepJobData;
let db = 0;

/** Each test on its own Redis database: no job of one test reaches another's worker. */
const nextUrl = () => `${redis!.url}/${++db}`;

function policy(extra: Partial<AdmissionPolicy> = {}): AdmissionPolicy {
  return { roots: [root], allowJobKeys: new Set(), workerValues: {}, modelsDir: join(root, 'models'), ...extra };
}

/** A job's data with its own run directory under the sweep directory. */
function jobAt(name: string, edit: (j: SweepJobData) => void = () => {}): SweepJobData {
  const j = structuredClone(base);
  j.job = `r0/${name}`;
  j.runDir = join(base.sweepDir, 'runs', 'r0', name);
  edit(j);
  return j;
}

/** Adds jobs as an attacker would, with BullMQ's own client and no checks. */
async function push(url: string, jobs: Array<{ id: string; data: unknown; hash?: Record<string, string | number> }>): Promise<Queue> {
  const queue = new Queue(QUEUE_NAME, { connection: connectionOf(url) });
  for (const j of jobs) {
    await queue.add(j.id, j.data, { jobId: j.id, attempts: 3 });
    if (j.hash) await (await queue.getBackend().client).hset(`bull:${QUEUE_NAME}:${j.id}`, j.hash);
  }
  return queue;
}

/** Runs a worker until `until` holds (polled), then stops it; returns its log and outcome. */
async function work(url: string, opts: Partial<WorkerOptions>, until: (log: string) => Promise<boolean>, ms = 60_000): Promise<{ log: string; outcome: WorkerOutcome }> {
  const ctl = new AbortController();
  let log = '';
  const running = runWorker({ url, policy: policy(), putBackMs: 300, stalledIntervalMs: 1000, quiet: true, ...opts, signal: ctl.signal, log: (l) => (log += l + '\n') });
  const end = Date.now() + ms;
  let failed: unknown;
  running.catch((err) => (failed = err));
  try {
    while (!(await until(log))) {
      if (failed) throw failed;
      if (Date.now() > end) throw new Error(`timed out; worker log:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    ctl.abort();
  }
  return { log, outcome: await running };
}

const stateIs = (queue: Queue, id: string, ...states: string[]) => async () => states.includes(await queue.getJobState(id));

async function filesUnder(dir: string): Promise<string[]> {
  return existsSync(dir) ? (await readdir(dir, { recursive: true })).map(String) : [];
}

describe.skipIf(!HAVE_REDIS)(HAVE_REDIS ? NAME : `${NAME} [skipped: redis-server not found; apt-get install -y redis-server]`, () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iapas-worker-trust-'));
    outside = await mkdtemp(join(tmpdir(), 'iapas-worker-outside-'));
    const spec = await parseSweepSpec(
      { base: { preset: 'fewshot', set: { cache_dir: join(root, 'cache') } }, datasets: [{ path: join(root, 'no-such-data'), name: 'missing' }], grid: { 'fewshot.boost': [1] } },
      join(root, 'spec.yaml'),
    );
    const plan = expandSweep(spec, { out: join(root, 'sweep') });
    base = jobData(plan.dir, plan.jobs[0]);
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.stop();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('a job whose run directory is outside the roots is refused and writes nothing; one inside runs', async () => {
    const url = nextUrl();
    const queue = await push(url, [
      { id: 'abs', data: jobAt('abs', (j) => (j.runDir = join(outside, 'runs', 'abs'))) },
      { id: 'dots', data: jobAt('dots', (j) => (j.runDir = `${j.sweepDir}/runs/../../../../../../${outside}/dots`)) },
      { id: 'ok', data: jobAt('ok') },
    ]);
    try {
      const { log } = await work(url, {}, async () => (await stateIs(queue, 'abs', 'failed')()) && (await stateIs(queue, 'dots', 'failed')()) && (await stateIs(queue, 'ok', 'failed', 'completed')()));
      expect((await queue.getJob('abs'))?.failedReason).toMatch(/refused by this worker: run directory .* is outside the directories this worker may write/);
      expect((await queue.getJob('dots'))?.failedReason).toContain("'..' segment");
      expect(await filesUnder(outside)).toEqual([]);
      expect(log).toContain('abs: REFUSED');
      // The admitted job ran: its result names the missing dataset and the code that computed it.
      const ok = await readJobResult(jobAt('ok').runDir);
      expect(ok?.error).toContain('dataset root not found');
      expect(ok?.computed_by).toEqual(codeVersion());
    } finally {
      await queue.close();
    }
  });

  it('a job choosing the LLM host, its key variable, or a __proto__ key is refused before anything is written', async () => {
    const url = nextUrl();
    const proto = JSON.parse(JSON.stringify(jobAt('proto')).replace('"config":{', '"config":{"__proto__":{"polluted":1},'));
    const queue = await push(url, [
      { id: 'host', data: jobAt('host', (j) => ((j.config.llm.provider = 'openai'), (j.config.llm.base_url = 'http://attacker.example/v1'))) },
      { id: 'key', data: jobAt('key', (j) => (j.config.llm.api_key_env = 'AWS_SECRET_ACCESS_KEY')) },
      { id: 'proto', data: proto },
    ]);
    try {
      await work(url, {}, async () => (await stateIs(queue, 'host', 'failed')()) && (await stateIs(queue, 'key', 'failed')()) && (await stateIs(queue, 'proto', 'failed')()));
      expect((await queue.getJob('host'))?.failedReason).toContain('llm.base_url = "http://attacker.example/v1"');
      expect((await queue.getJob('key'))?.failedReason).toContain('llm.api_key_env = "AWS_SECRET_ACCESS_KEY"');
      expect((await queue.getJob('proto'))?.failedReason).toContain("key '__proto__' is not allowed");
      for (const id of ['host', 'key', 'proto']) {
        expect((await queue.getJob(id))?.attemptsMade).toBe(1);
        expect(existsSync(jobAt(id).runDir)).toBe(false);
      }
    } finally {
      await queue.close();
    }
  });

  it('with a secret, unsigned and altered jobs are refused and a signed one runs; the submitter signs', async () => {
    const url = nextUrl();
    const secret = randomBytes(24).toString('hex');
    const tampered = { ...signJob('tampered', jobAt('tampered'), secret), dataset: { label: 'missing', path: '/etc' } };
    const queue = await push(url, [
      { id: 'unsigned', data: jobAt('unsigned') },
      { id: 'tampered', data: tampered },
      { id: 'signed', data: signJob('signed', jobAt('signed'), secret) },
    ]);
    try {
      const done = async () => (await stateIs(queue, 'unsigned', 'failed')()) && (await stateIs(queue, 'tampered', 'failed')()) && (await stateIs(queue, 'signed', 'failed', 'completed')());
      await work(url, { policy: policy({ secret }) }, done);
      expect((await queue.getJob('unsigned'))?.failedReason).toContain('it is not signed');
      expect((await queue.getJob('tampered'))?.failedReason).toContain('signature does not match');
      expect(existsSync(join(jobAt('unsigned').runDir, RESULT_FILE))).toBe(false);
      expect(existsSync(join(jobAt('tampered').runDir, RESULT_FILE))).toBe(false);
      expect((await readJobResult(jobAt('signed').runDir))?.error).toContain('dataset root not found');

      // `iapas sweep --queue` with the secret: its job passes the same worker.
      const spec = await parseSweepSpec(
        { base: { preset: 'fewshot', set: { cache_dir: join(root, 'cache') } }, datasets: [{ path: join(root, 'no-such-data'), name: 'missing' }], grid: { 'fewshot.boost': [2] } },
        join(root, 'spec2.yaml'),
      );
      const plan = expandSweep(spec, { out: join(root, 'submitted') });
      await prepareSweepDir(plan, false);
      const warnings: string[] = [];
      const submitted = submitSweep(plan, { url, secret, quiet: true, timeoutS: 60, pollMs: 100, warn: (l) => warnings.push(l) });
      let outcome: Awaited<typeof submitted> | undefined;
      void submitted.then((o) => (outcome = o));
      await work(url, { policy: policy({ secret }) }, async () => outcome !== undefined);
      expect(outcome).toMatchObject({ enqueued: 1, failed: 1 });
      expect((await readJobResult(plan.jobs[0].runDir))?.error).toContain('dataset root not found');
      expect(warnings.join('\n')).toContain('has no password');
    } finally {
      await queue.close();
    }
  });

  it('a job of another code version is left in the queue for a worker of that version, not failed', async () => {
    const url = nextUrl();
    const other = { version: '0.0.1-other', commit: 'f'.repeat(40) };
    const queue = await push(url, [{ id: 'old', data: jobAt('old', (j) => (j.version = other)) }]);
    try {
      const first = await work(url, {}, async () => (await queue.getJobState('old')) === 'delayed');
      expect(first.log).toContain('old: left in the queue: submitted by code 0.0.1-other');
      expect(first.outcome.putBack).toBeGreaterThanOrEqual(1);
      const job = await queue.getJob('old');
      expect(job?.attemptsMade).toBe(0);
      expect(existsSync(jobAt('old').runDir)).toBe(false);
      // A worker of that version takes it.
      await work(url, { version: other }, stateIs(queue, 'old', 'failed', 'completed'));
      expect((await readJobResult(jobAt('old').runDir))?.error).toContain('dataset root not found');
    } finally {
      await queue.close();
    }
  });

  it("a run directory lock of the job's previous attempt whose pid is alive on this host is not taken over", async () => {
    const url = nextUrl();
    const id = 'locked';
    const data = jobAt(id);
    await mkdir(data.runDir, { recursive: true });
    // A live process plays the previous attempt, whose BullMQ job lock lapsed.
    const sleeper = spawn('sleep', ['120'], { stdio: 'ignore' });
    const exited = new Promise((r) => sleeper.once('exit', r));
    const owner = { pid: sleeper.pid!, host: hostname(), command: `iapas worker ${id}`, started: new Date().toISOString(), startTicks: processStartTicks(sleeper.pid!), token: randomBytes(8).toString('hex') };
    const lockText = JSON.stringify(owner, null, 2) + '\n';
    await writeFile(join(data.runDir, 'run.lock'), lockText);
    const queue = await push(url, [{ id, data, hash: { attemptsMade: 1 } }]);
    try {
      const held = await work(url, {}, async () => (await queue.getJobState(id)) === 'delayed');
      expect(held.log).toContain(`${id}: left in the queue: its previous attempt still runs`);
      expect(held.log).not.toContain('released the run directory lock');
      expect(await readFile(join(data.runDir, 'run.lock'), 'utf8')).toBe(lockText);
      expect(existsSync(join(data.runDir, RESULT_FILE))).toBe(false);
      // Once that process is gone, its lock is stale: released, and the job runs.
      sleeper.kill('SIGKILL');
      await exited;
      const after = await work(url, {}, stateIs(queue, id, 'failed', 'completed'));
      expect(after.log).toContain(`${id}: released the run directory lock of its previous attempt (pid ${owner.pid}`);
      expect((await readJobResult(data.runDir))?.error).toContain('dataset root not found');
    } finally {
      if (sleeper.exitCode === null && sleeper.signalCode === null) sleeper.kill('SIGKILL');
      await queue.close();
    }
  });

  it('a Redis with a password: the real NOAUTH / WRONGPASS error, the password masked everywhere', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const locked = await startRedis({ password });
    try {
      const none = locked.url.replace(`:${password}@`, '');
      const wrong = locked.url.replace(password, 'not-the-password');
      const errorOf = (p: Promise<unknown>) => p.then(() => '(no error)', (err: Error) => err.message);
      const logs: string[] = [];
      const noAuth = await errorOf(runWorker({ url: none, policy: policy(), log: (l) => logs.push(l) }));
      expect(noAuth).toContain('NOAUTH');
      expect(noAuth).toContain('put it in the URL');
      const wrongPass = await errorOf(runWorker({ url: wrong, policy: policy(), log: (l) => logs.push(l) }));
      expect(wrongPass).toContain('WRONGPASS');
      expect(wrongPass).toContain('redis://:***@127.0.0.1');
      expect(wrongPass).not.toContain('not-the-password');
      const spec = await parseSweepSpec({ base: { preset: 'fewshot' }, datasets: [{ path: join(root, 'no-such-data'), name: 'missing' }], grid: { 'fewshot.boost': [3] } }, join(root, 'spec3.yaml'));
      const submitErr = await errorOf(submitSweep(expandSweep(spec, { out: join(root, 'pw') }), { url: wrong, quiet: true, warn: (l) => logs.push(l) }));
      expect(submitErr).toContain('WRONGPASS');
      expect(submitErr).not.toContain('not-the-password');
      // The right password: the start-up line masks it, and no no-password warning.
      const ok = await work(locked.url, {}, async (log) => log.includes(' job(s) at once'));
      expect(ok.log).toContain('on redis://:***@127.0.0.1');
      expect([...logs, ok.log].join('\n')).not.toContain(password);
      expect(ok.log).not.toContain('has no password');
    } finally {
      await locked.stop();
    }
  });
});
