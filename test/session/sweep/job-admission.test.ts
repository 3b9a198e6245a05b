/**
 * What a worker admits from a queue job, without Redis: the job's directories must lie under the
 * worker's roots (symlinks resolved, no '..'), its config passes the schema, keys that choose
 * hosts, credentials or files are the worker's, and with a secret only signed jobs pass.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandSweep } from '../../../src/session/sweep/expand.js';
import { admitJob, checkEnvelope, JobRefusedError, type AdmissionPolicy } from '../../../src/session/sweep/job-admission.js';
import { canonicalJson, signJob, verifyJob } from '../../../src/session/sweep/job-signature.js';
import { jobData, type SweepJobData } from '../../../src/session/sweep/run-job.js';
import { parseSweepSpec } from '../../../src/session/sweep/spec.js';

let root: string;
let outside: string;
let job: SweepJobData;
let policy: AdmissionPolicy;

/** A fresh copy of the job with `edit` applied. */
function variant(edit: (j: SweepJobData) => void): Record<string, unknown> {
  const j = structuredClone(job);
  edit(j);
  return j as unknown as Record<string, unknown>;
}

async function refusal(raw: Record<string, unknown>, p: AdmissionPolicy = policy): Promise<string> {
  try {
    checkEnvelope('j1', raw, p);
    await admitJob('j1', raw, p);
  } catch (err) {
    expect(err).toBeInstanceOf(JobRefusedError);
    return (err as Error).message;
  }
  throw new Error('admitted');
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-admit-'));
  outside = await mkdtemp(join(tmpdir(), 'iapas-admit-outside-'));
  await symlink(outside, join(root, 'escape'));
  const spec = await parseSweepSpec(
    { base: { preset: 'iap-as', set: { cache_dir: join(root, 'cache') } }, datasets: [{ path: join(root, 'data'), name: 'd' }], grid: { 'detector.box_threshold': [0.1] } },
    join(root, 'spec.yaml'),
  );
  const plan = expandSweep(spec, { out: join(root, 'sweep') });
  job = jobData(plan.dir, plan.jobs[0]);
  policy = { roots: [root], allowJobKeys: new Set(), workerValues: {}, modelsDir: join(root, 'worker-models') };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('admitting a queue job', () => {
  it('a job as the submitter writes it is admitted, with the worker models directory', async () => {
    const raw = variant(() => {});
    const data = await admitJob('j1', checkEnvelope('j1', raw, policy), policy);
    expect(data.runDir).toBe(job.runDir);
    expect(data.config.models_dir).toBe(join(root, 'worker-models'));
    expect(data.config.cache_dir).toBe(join(root, 'cache'));
  });

  it('run, sweep and cache directories outside the roots are refused, through .. or a symlink too', async () => {
    expect(await refusal(variant((j) => (j.runDir = join(outside, 'run'))))).toMatch(/run directory .* is outside the directories this worker may write/);
    expect(await refusal(variant((j) => (j.runDir = `${j.sweepDir}/../../../../${outside}/run`)))).toContain("'..' segment");
    expect(await refusal(variant((j) => (j.runDir = join(root, 'escape', 'run'))))).toContain(`really ${join(outside, 'run')}`);
    expect(await refusal(variant((j) => ((j.sweepDir = join(outside, 's')), (j.runDir = join(outside, 's', 'runs', 'r0')))))).toMatch(/sweep directory .* is outside/);
    expect(await refusal(variant((j) => (j.runDir = join(root, 'elsewhere', 'r0'))))).toContain('is not inside its sweep directory');
    expect(await refusal(variant((j) => (j.config.cache_dir = join(outside, 'cache'))))).toContain('model-output cache (cache_dir)');
    expect(await refusal(variant((j) => (j.runDir = 'relative/run')))).toContain('not an absolute path');
    // Another root allows it.
    const wider = { ...policy, roots: [root, outside] };
    const data = await admitJob('j1', variant((j) => (j.config.cache_dir = join(outside, 'cache'))), wider);
    expect(data.config.cache_dir).toBe(join(outside, 'cache'));
  });

  it('hosts, credentials and model files come from the worker unless it allows them', async () => {
    const evil = variant((j) => ((j.config.llm.provider = 'openai'), (j.config.llm.base_url = 'http://attacker.example/v1')));
    expect(await refusal(evil)).toContain('llm.base_url = "http://attacker.example/v1"');
    expect(await refusal(variant((j) => (j.config.llm.api_key_env = 'AWS_SECRET_ACCESS_KEY')))).toContain('llm.api_key_env');
    expect(await refusal(variant((j) => (j.config.llm.model = '/etc/shadow')))).toContain('llm.model = "/etc/shadow"');
    expect(await refusal(variant((j) => (j.config.saa.phrases = '/etc/passwd')))).toContain('saa.phrases');
    // Whether a model that fails its pin may run is the worker's call too.
    expect(await refusal(variant((j) => (j.config.allow_model_mismatch = true)))).toContain('allow_model_mismatch');
    // A model name resolves in the worker's models directory: free.
    await expect(admitJob('j1', variant((j) => (j.config.llm.model = 'llama-3-8b-instruct')), policy)).resolves.toBeDefined();
    // The worker's own value: a job at the default gets it, a job giving it is admitted.
    const mine = { ...policy, workerValues: { 'llm.base_url': 'http://llm.lan/v1' } };
    expect((await admitJob('j1', variant(() => {}), mine)).config.llm.base_url).toBe('http://llm.lan/v1');
    expect((await admitJob('j1', variant((j) => (j.config.llm.base_url = 'http://llm.lan/v1')), mine)).config.llm.base_url).toBe('http://llm.lan/v1');
    expect(await refusal(evil, mine)).toContain('llm.base_url');
    // Allowed by the worker.
    const open = { ...policy, allowJobKeys: new Set(['llm.base_url']) };
    expect((await admitJob('j1', evil, open)).config.llm.base_url).toBe('http://attacker.example/v1');
    // models_dir is the worker's unless allowed.
    expect((await admitJob('j1', variant((j) => (j.config.models_dir = '/srv/other')), policy)).config.models_dir).toBe(join(root, 'worker-models'));
  });

  it('the config is validated again: prototype keys, unknown keys and bad values are refused', async () => {
    const proto = JSON.parse(JSON.stringify(job).replace('"config":{', '"config":{"__proto__":{"polluted":true},')) as Record<string, unknown>;
    expect(await refusal(proto)).toContain("key '__proto__' is not allowed");
    const ctor = JSON.parse(JSON.stringify(job).replace('"dataset":{', '"dataset":{"constructor":{"prototype":{}},')) as Record<string, unknown>;
    expect(await refusal(ctor)).toContain("key 'constructor' is not allowed");
    expect(await refusal(variant((j) => ((j.config as unknown as Record<string, unknown>).typo_key = 1)))).toContain("unknown key(s) 'typo_key'");
    expect(await refusal(variant((j) => ((j.config.detector as unknown as Record<string, unknown>).box_threshold = 7)))).toContain('detector.box_threshold');
    expect(await refusal(variant((j) => ((j as unknown as Record<string, unknown>).extra = 'x')))).toContain('unknown key(s) extra');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('with a secret: unsigned, altered and otherwise signed jobs are refused; a signed one passes', async () => {
    const secret = 'a-shared-secret-of-32-characters';
    const signed = signJob('j1', variant(() => {}), secret);
    const p = { ...policy, secret };
    await expect(admitJob('j1', checkEnvelope('j1', signed, p), p)).resolves.toBeDefined();
    expect(await refusal(variant(() => {}), p)).toContain('it is not signed');
    expect(await refusal({ ...signed, runDir: join(root, 'sweep', 'runs', 'other') }, p)).toContain('signature does not match');
    expect(await refusal(signJob('j1', variant(() => {}), 'another-secret-of-32-characters!'), p)).toContain('signature does not match');
    // Bound to its job id: the same payload under another id is refused.
    expect(verifyJob('j2', signed, secret)).toBe('bad');
    // Canonical: key order does not matter.
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  });
});
