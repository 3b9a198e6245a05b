/**
 * A small sweep run for real (embedded `fewshot` preset, a seeded synthetic category): every
 * model output computed once, the same results as plain uncached runs, a killed sweep resumed
 * without recomputing what was finished, a changed spec refused, and a failing job recorded
 * while the sweep goes on.
 */
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../../src/run-directory/records.js';
import { runOnDataset } from '../../../src/session/run-dataset.js';
import { expandSweep, type SweepPlan } from '../../../src/session/sweep/expand.js';
import { runSweepLocal } from '../../../src/session/sweep/local.js';
import { writeSweepReport } from '../../../src/session/sweep/finish.js';
import { MEASURE_COLUMNS } from '../../../src/session/sweep/results.js';
import { readJobResult, type JobResult } from '../../../src/run-directory/sweep-result.js';
import { parseSweepSpec } from '../../../src/session/sweep/spec.js';
import { SWEEP_LOCK } from '../../../src/run-directory/sweep-manifest.js';
import { discoverInputs } from '../../../src/report/inputs.js';
import { readSweepResults } from '../../../src/report/sweep-results.js';
import { generateSyntheticDataset } from '../../../src/synth/index.js';
import { runCli } from '../../support/cli.js';

let root: string;
let data: string;
let cache: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-sweep-local-'));
  data = join(root, 'data');
  cache = join(root, 'cache');
  await generateSyntheticDataset(data, { seed: 3, categories: ['disc'], size: 128, counts: { train: 2, testGood: 1, anomalous: 3 } });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// fewshot.augment=none: the synthetic disc would get 7 turned copies per reference (the default 'auto'); what is
// tested here is the sweep's sharing of model outputs, which the copies only make slower.
function specRaw(grid: Record<string, unknown[]> = { 'fewshot.threshold': ['adaptive', 'fixed:0.3'], 'fewshot.boost': [1, 2] }) {
  return { base: { preset: 'fewshot', set: { 'references.k': 2, 'fewshot.augment': 'none', cache_dir: cache, concurrency: 1 } }, datasets: [data], grid };
}

async function plan(out: string, grid?: Record<string, unknown[]>): Promise<SweepPlan> {
  return expandSweep(await parseSweepSpec(specRaw(grid), join(root, 'spec.yaml')), { out: join(root, out) });
}

/** results.csv without the columns that measure an execution (time, model runs, cache hits). */
async function resultsWithoutMeasures(dir: string): Promise<string> {
  const lines = (await readFile(join(dir, 'results.csv'), 'utf8')).trim().split('\n').map((l) => l.split(','));
  const drop = new Set(MEASURE_COLUMNS.map((c) => lines[0].indexOf(c)));
  return lines.map((l) => l.filter((_, i) => !drop.has(i)).join(',')).join('\n');
}

async function imageRecords(runDir: string): Promise<ImageRecord[]> {
  const dir = join(runDir, 'categories', 'disc', 'images');
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.json'));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as ImageRecord));
}

describe('a sweep on one machine', () => {
  let first: SweepPlan;

  it('runs every point, computes each model output once, and writes one tidy table', async () => {
    first = await plan('sw1');
    const outcome = await runSweepLocal(first, { quiet: true });
    expect(outcome).toMatchObject({ computed: 4, skipped: 0, failed: 0, aborted: false });
    const report = await writeSweepReport(first);
    const csv = (await readFile(join(first.dir, 'results.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe(
      'run,fewshot.threshold,fewshot.boost,dataset,category,n_images,pixel_auroc,pixel_ap,pixel_f1_max,aupro,image_auroc,image_ap,image_f1_max,wall_s,model_runs,cache_hits,error,run_dir',
    );
    expect(csv).toHaveLength(1 + 4 * 3); // per run: the category, the dataset mean, the overall mean
    expect(report.rows.filter((r) => r.category === 'disc').map((r) => [r.run, r.n_images])).toEqual([
      ['r00', 4],
      ['r01', 4],
      ['r02', 4],
      ['r03', 4],
    ]);

    const results = new Map<string, JobResult>();
    for (const j of first.jobs) results.set(j.run.id, (await readJobResult(j.runDir))!);
    // The leader encodes the 2 references, their 6 stand-ins (fewshot.stand_ins_max_k) and 4 test images once; nobody encodes again.
    expect(results.get('r00')!.model_runs['sam-encoder']).toBe(12);
    for (const id of ['r01', 'r02', 'r03']) {
      expect(results.get(id)!.model_runs['sam-encoder']).toBe(0);
      expect(results.get(id)!.cache['fewshot-map']).toEqual({ hits: 4, misses: 0 });
    }
    // The SAM decoder ran once per distinct prompt over the whole sweep (thresholds change prompts).
    const prompts = new Set<string>();
    for (const j of first.jobs) {
      for (const rec of await imageRecords(j.runDir)) {
        const points = (rec.notes?.points ?? []) as unknown[];
        rec.samPrompts!.forEach((b, i) => prompts.add(JSON.stringify([rec.relId, b.box, points[i]])));
      }
    }
    const decoderRuns = [...results.values()].reduce((a, r) => a + r.model_runs['sam-decoder'], 0);
    expect(prompts.size).toBeGreaterThan(0);
    expect(decoderRuns).toBe(prompts.size);

    // Summary: the best point and each key's range around it.
    const best = report.summary.overall!;
    const means = report.rows.filter((r) => r.dataset === 'mean');
    expect(best.value).toBe(Math.max(...means.map((r) => r.pixel_f1_max as number)));
    expect(report.summary.around.map((a) => a.factor)).toEqual(['fewshot.threshold', 'fewshot.boost']);
    expect(report.summaryText).toContain(`best pixel_f1_max (%):\n  data: ${(100 * best.value).toFixed(1)} at ${best.run}`);

    // iapas report reads the table: varied keys as parameters, metrics, run directories.
    const parsed = await readSweepResults(join(first.dir, 'results.json'));
    expect(parsed.varied).toEqual(['fewshot.threshold', 'fewshot.boost']);
    const r02 = parsed.rows.find((r) => r.run === 'r02' && r.category === 'disc')!;
    expect(r02.params).toEqual({ 'fewshot.threshold': 'fixed:0.3', 'fewshot.boost': 1 });
    expect(r02.metrics.pixel_ap).toBe(report.rows.find((r) => r.run === 'r02' && r.category === 'disc')!.pixel_ap);
    expect(r02.run_dir).toBe(join('runs', 'r02', 'data'));
    const inputs = await discoverInputs([first.dir]);
    expect(inputs.runs.map((r) => r.dir).sort()).toEqual(first.jobs.map((j) => j.runDir).sort());
  });

  it('gives the results of a plain run without cache or shared models', async () => {
    const job = first.jobs.find((j) => j.run.id === 'r03')!;
    const plain = await runOnDataset({ config: { ...job.run.config, cache: false }, dataset: data, runDir: join(root, 'plain-r03'), quiet: true });
    expect(plain.run.modelRuns['sam-encoder']).toBe(12);
    const swept = JSON.parse(await readFile(join(job.runDir, 'metrics.json'), 'utf8'));
    expect(JSON.parse(await readFile(join(root, 'plain-r03', 'metrics.json'), 'utf8'))).toEqual(swept);
    for (const f of await readdir(join(job.runDir, 'maps', 'disc'), { recursive: true })) {
      if (!f.endsWith('.npy')) continue;
      expect(await readFile(join(root, 'plain-r03', 'maps', 'disc', f))).toEqual(await readFile(join(job.runDir, 'maps', 'disc', f)));
    }
  });

  it('a stopped sweep resumes: finished jobs are kept, the job in flight continues from its images', async () => {
    const p = await plan('sw2');
    const stop = new AbortController();
    let computed = 0;
    const killed = await runSweepLocal(p, {
      quiet: true,
      signal: stop.signal,
      onImage: (_rec, fresh) => {
        // Stop in the middle of the second job (the first has 4 images).
        if (fresh && ++computed === 6) stop.abort(new Error('killed'));
      },
    });
    expect(killed).toMatchObject({ computed: 1, aborted: true });
    const inFlight = p.jobs[1];
    expect(await readJobResult(inFlight.runDir)).toBeUndefined();
    expect((await imageRecords(inFlight.runDir)).length).toBe(2);

    await expect(runSweepLocal(p, { quiet: true })).rejects.toThrow(/already holds sweep .*pass --resume/);
    const changed = await plan('sw2', { 'fewshot.threshold': ['adaptive', 'fixed:0.3'], 'fewshot.boost': [1, 3] });
    await expect(runSweepLocal(changed, { quiet: true, resume: true })).rejects.toThrow(/the spec changed: varied \/ fewshot\.boost \/ values: \[1,2\] -> \[1,3\]/);

    const seen: Array<[string, boolean]> = [];
    const again: Array<{ relId: string; fresh: boolean }> = [];
    const resumed = await runSweepLocal(p, {
      quiet: true,
      resume: true,
      onJob: (r, fresh) => seen.push([r.job, fresh]),
      onImage: (rec, fresh) => void again.push({ relId: rec.relId, fresh }),
    });
    expect(resumed).toMatchObject({ computed: 3, skipped: 1, aborted: false });
    expect(seen[0]).toEqual([p.jobs[0].id, false]);
    // The job in flight: 2 images found complete, 2 computed.
    expect(again.slice(0, 4).filter((x) => !x.fresh)).toHaveLength(2);
    const timing = JSON.parse(await readFile(join(inFlight.runDir, 'timing.json'), 'utf8'));
    expect(timing.categories[0]).toMatchObject({ images: 4, skipped: 2, computed: 2 });
    await writeSweepReport(p);
    expect(await resultsWithoutMeasures(p.dir)).toBe(await resultsWithoutMeasures(first.dir));
  });

  it('iapas sweep records a failing job with its error and goes on', async () => {
    const file = join(root, 'fail.yaml');
    await writeFile(
      file,
      [
        'base: { preset: fewshot, set: { references.k: 2, fewshot.augment: none, concurrency: 1 } }',
        `datasets: [${data}, { path: ${join(root, 'no-such-data')}, name: missing }]`,
        'grid: { fewshot.boost: [1] }',
        `out: ${join(root, 'sw3')}`,
      ].join('\n'),
    );
    const res = await runCli(['sweep', file, '--quiet', '--cache-dir', cache]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('1 job(s) failed');
    expect(res.stdout).toContain('best pixel_f1_max (%):\n  data: ');
    expect(res.stdout).toContain('missing: no finished run');
    const rows = JSON.parse(await readFile(join(root, 'sw3', 'results.json'), 'utf8')).rows as Array<Record<string, unknown>>;
    const missing = rows.find((r) => r.dataset === 'missing')!;
    expect(missing.error).toContain(`dataset root not found: ${join(root, 'no-such-data')}`);
    expect(missing.pixel_ap).toBeNull();
    expect(rows.find((r) => r.dataset === 'data' && r.category === 'mean')!.pixel_ap).toBeGreaterThan(0);
    const overall = rows.find((r) => r.dataset === 'mean')!;
    expect(overall.pixel_ap).toBeNull();
    expect(overall.error).toContain('missing: dataset root not found');
  });
});

describe('one sweep per sweep directory', () => {
  async function specFile(name: string, grid: Record<string, unknown[]>): Promise<string> {
    const file = join(root, `${name}.json`);
    await writeFile(file, JSON.stringify(specRaw(grid)));
    return file;
  }

  it('a second sweep (or --resume) on a directory in use is refused at once, naming the holder', async () => {
    const file = await specFile('locked', { 'fewshot.boost': [1, 2] });
    const out = join(root, 'sw-locked');
    const p = expandSweep(await parseSweepSpec(specRaw({ 'fewshot.boost': [1, 2] }), file), { out });
    const tries: Array<Awaited<ReturnType<typeof runCli>>> = [];
    let asked = false;
    const outcome = await runSweepLocal(p, {
      quiet: true,
      onImage: async () => {
        if (asked) return;
        asked = true;
        tries.push(await runCli(['sweep', file, '--out', out, '--resume', '--quiet']));
        tries.push(await runCli(['sweep', file, '--out', out, '--quiet']));
      },
    });
    expect(outcome).toMatchObject({ computed: 2, failed: 0, aborted: false });
    for (const t of tries) {
      expect(t.code).toBe(1);
      expect(t.stderr).toMatch(new RegExp(`sweep directory ${out} is in use by iapas sweep \\(pid ${process.pid} on ${hostname()}, since \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z\\); wait for it to end or choose another --out`));
    }
    // The holder's results stand, and the lock went with it.
    expect((await readJobResult(p.jobs[1].runDir))?.status).toBe('done');
    await expect(readFile(join(out, SWEEP_LOCK))).rejects.toThrow();
    const after = await runCli(['sweep', file, '--out', out, '--resume', '--quiet']);
    expect(after.code).toBe(0);
    expect(after.stderr).toContain('0 job(s) run, 2 already finished');
  });

  it('a lock left by a process that is gone from this host is taken over', async () => {
    const file = await specFile('stale', { 'fewshot.boost': [1] });
    const out = join(root, 'sw-stale');
    await runCli(['sweep', file, '--out', out, '--quiet']);
    const dead = { pid: 2 ** 22 + 7, host: hostname(), command: 'iapas sweep old', started: '2020-01-01T00:00:00Z', token: 'x' };
    await writeFile(join(out, SWEEP_LOCK), JSON.stringify(dead));
    const res = await runCli(['sweep', file, '--out', out, '--resume', '--quiet']);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('0 job(s) run, 1 already finished');
    await expect(readFile(join(out, SWEEP_LOCK))).rejects.toThrow();
    // Another host's lock cannot be checked from here: refused, with the file to delete.
    await writeFile(join(out, SWEEP_LOCK), JSON.stringify({ ...dead, host: 'elsewhere' }));
    const remote = await runCli(['sweep', file, '--out', out, '--resume', '--quiet']);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain(`in use by iapas sweep old (pid ${dead.pid} on elsewhere, since 2020-01-01T00:00:00Z)`);
    expect(remote.stderr).toContain(`delete ${join(out, SWEEP_LOCK)}`);
  });
});

describe('a resumed sweep keeps only jobs computed from the files on disk', () => {
  it('a dataset image changed since: its finished jobs run again, and the tables are those of a fresh sweep', async () => {
    const changing = join(root, 'changing');
    await generateSyntheticDataset(changing, { seed: 3, categories: ['disc'], size: 128, counts: { train: 2, testGood: 1, anomalous: 3 } });
    const raw = { ...specRaw({ 'fewshot.boost': [1, 2] }), datasets: [changing] };
    const file = join(root, 'changing.json');
    await writeFile(file, JSON.stringify(raw));
    const out = join(root, 'sw-changing');
    const first = await runCli(['sweep', file, '--out', out, '--quiet']);
    expect(first.code).toBe(0);
    const before = await resultsWithoutMeasures(out);

    // The defect image becomes a normal one: results computed from the old file are artefacts.
    await copyFile(join(changing, 'disc', 'test', 'good', '000.png'), join(changing, 'disc', 'test', 'hole', '000.png'));
    const resumed = await runCli(['sweep', file, '--out', out, '--resume', '--quiet']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('2 finished job(s) re-run for changed inputs:');
    expect(resumed.stderr).toMatch(/r00\/changing: disc\/\S*hole\S*: image changed/);
    expect(resumed.stderr).toContain('2 job(s) run (2 of them re-run for changed inputs), 0 already finished');
    // Only the changed image was computed again in each run directory.
    const p = expandSweep(await parseSweepSpec(raw, file), { out });
    for (const j of p.jobs) {
      const timing = JSON.parse(await readFile(join(j.runDir, 'timing.json'), 'utf8'));
      expect(timing.categories[0]).toMatchObject({ images: 4, computed: 1, skipped: 3, recomputed: { 'image changed': 1 } });
    }
    const fresh = join(root, 'sw-changing-fresh');
    expect((await runCli(['sweep', file, '--out', fresh, '--quiet'])).code).toBe(0);
    const after = await resultsWithoutMeasures(out);
    expect(after).toBe(await resultsWithoutMeasures(fresh));
    expect(after).not.toBe(before);
    expect(await readFile(join(out, 'summary.txt'), 'utf8')).toBe(await readFile(join(fresh, 'summary.txt'), 'utf8'));

    // Nothing changed since: every job is kept.
    const again = await runCli(['sweep', file, '--out', out, '--resume', '--quiet']);
    expect(again.stderr).not.toContain('re-run for changed inputs');
    expect(again.stderr).toContain('0 job(s) run, 2 already finished');
  });

  it('a changed mask, or an image added to the dataset, makes a finished job run again', async () => {
    const changing = join(root, 'changing2');
    await generateSyntheticDataset(changing, { seed: 4, categories: ['disc'], size: 128, counts: { train: 2, testGood: 1, anomalous: 3 } });
    const p = expandSweep(await parseSweepSpec({ ...specRaw({ 'fewshot.boost': [1] }), datasets: [changing] }, join(root, 'changing2.yaml')), { out: join(root, 'sw-changing2') });
    await runSweepLocal(p, { quiet: true });
    await copyFile(join(changing, 'disc', 'ground_truth', 'stain', '000_mask.png'), join(changing, 'disc', 'ground_truth', 'hole', '000_mask.png'));
    const masked = await runSweepLocal(p, { quiet: true, resume: true });
    expect(masked.changed).toEqual([{ job: p.jobs[0].id, reason: expect.stringMatching(/^disc\/\S*hole\S*: mask changed$/) }]);
    expect(masked).toMatchObject({ computed: 1, skipped: 0 });
    await copyFile(join(changing, 'disc', 'test', 'good', '000.png'), join(changing, 'disc', 'test', 'good', '001.png'));
    const added = await runSweepLocal(p, { quiet: true, resume: true });
    expect(added.changed).toEqual([{ job: p.jobs[0].id, reason: 'disc: 5 test images now, 4 when it finished' }]);
    expect((await readJobResult(p.jobs[0].runDir))!.mean!.n_images).toBe(5);
    expect(await runSweepLocal(p, { quiet: true, resume: true })).toMatchObject({ changed: [], computed: 0, skipped: 1 });
  });
});
