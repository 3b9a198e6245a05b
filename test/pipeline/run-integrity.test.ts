/**
 * Nothing lost, nothing stale: output names that never collide, bad masks that leave
 * out one image rather than the evaluation, one writer per run directory, resumes that recompute
 * what changed. The run machinery is real (runner, run directory, evaluation); the maps come from
 * a model-free pipeline (test/support/fake-pipeline.ts) on tiny datasets written here.
 */
import { cp, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/datasets/index.js';
import { evaluateMapsFolder } from '../../src/evaluation/evaluate.js';
import { RunDir } from '../../src/run-directory/run-dir.js';
import { acquireRunLock, LOCK_FILE, RunDirLockedError } from '../../src/run-directory/lock.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { runOnDataset } from '../../src/session/run-dataset.js';
import { imagesAsSamples, segmentOutputStem } from '../../src/session/run-images.js';
import { runCli } from '../support/cli.js';
import { fakePipeline, runDirFiles, writeDefectMask, writeRgb, writeTinyMvtec } from '../support/fake-pipeline.js';
import { buildConfig, type Config } from '../../src/methods/registry.js';

const dirs: string[] = [];
async function tmp(prefix = 'iapas-integrity-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const config = (over: Record<string, unknown> = {}): Config =>
  buildConfig('fewshot', { flags: { references: { k: 2 }, concurrency: 2, cache: false, eval: { resolution: 32 }, ...over } });

async function run(dataset: string, runDir: string, opts: { resume?: boolean; cfg?: Config } = {}) {
  return runOnDataset({ config: opts.cfg ?? config(), dataset, runDir, resume: opts.resume, quiet: true, pipeline: fakePipeline() });
}


describe('names that collide after sanitising get distinct, stable files', () => {
  it("'a b' and 'a_b', and 'dup.jpg' with 'dup.png', each get their own record and map; evaluate and resume see them all", async () => {
    const root = await tmp();
    const data = join(root, 'data');
    const cat = await writeTinyMvtec(data, 'widget', { anomalous: 1 });
    // Four more anomalous images whose names collided before: 'a b' / 'a_b' and 'dup.jpg' / 'dup.png'.
    await writeRgb(join(cat, 'test', 'crack', 'a b.png'), 60, true);
    await writeRgb(join(cat, 'test', 'crack', 'a_b.png'), 200, true);
    await writeRgb(join(cat, 'test', 'crack', 'dup.jpg'), 40, true);
    await writeRgb(join(cat, 'test', 'crack', 'dup.png'), 160, true);
    for (const m of ['a b', 'a_b', 'dup']) await writeDefectMask(join(cat, 'ground_truth', 'crack', `${m}_mask.png`));

    const index = await loadDataset(data);
    const ids = index.samples.filter((s) => s.split === 'test').map((s) => s.relId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['test/crack/a b', 'test/crack/a_b', 'test/crack/dup.jpg', 'test/crack/dup.png']));
    expect(index.problems.filter((p) => p.kind === 'duplicate-name').map((p) => relative(cat, p.path)).sort()).toEqual(['test/crack/dup.jpg', 'test/crack/dup.png']);

    const runDir = join(root, 'run');
    const res = await run(data, runDir);
    expect(res.metrics!.categories[0].n_images).toBe(7);
    expect(res.metrics!.problems.missing_maps).toEqual([]);
    const dir = new RunDir(runDir);
    const maps = new Set<string>();
    for (const s of index.samples.filter((x) => x.split === 'test')) {
      const rec = (await dir.completeRecord('widget', s.relId))!;
      expect(rec.imagePath).toBe(s.imagePath);
      maps.add(rec.map);
    }
    expect(maps.size).toBe(7);
    expect([...maps]).toEqual(expect.arrayContaining(['maps/widget/test/crack/a%20b.npy', 'maps/widget/test/crack/a_b.npy', 'maps/widget/test/crack/dup.jpg.npy']));
    // Two images, two different maps (the last writer no longer wins).
    const m1 = await dir.readMap('widget', 'test/crack/a b');
    const m2 = await dir.readMap('widget', 'test/crack/a_b');
    expect(Buffer.from(m1.data.buffer).equals(Buffer.from(m2.data.buffer))).toBe(false);

    const again = await run(data, runDir, { resume: true });
    expect(again.run.categories[0]).toMatchObject({ computed: 0, skipped: 7 });

    const folder = await evaluateMapsFolder({ dataset: index, mapsDir: join(runDir, 'maps'), quiet: true, options: { resolution: 32 } });
    expect(folder.problems.missing_maps).toEqual([]);
    expect(folder.problems.extra_maps).toEqual([]);
    expect(folder.categories[0].n_images).toBe(7);

    const inspect = await runCli(['datasets', 'inspect', data]);
    expect(inspect.stdout).toMatch(/duplicate-name: .*dup\.jpg: shares the name test\/crack\/dup/);
  });

  it('iapas segment names a/x.jpg, b/x.jpg and c/x_1.jpg apart', () => {
    const s = imagesAsSamples(['/in/a/x.jpg', '/in/b/x.jpg', '/in/c/x_1.jpg', '/in/c/x_1.jpg', '/in/d/y.png', '/in/d/y.jpg'], 'input', 'test');
    expect(s.map((x) => x.relId)).toEqual(['a/x', 'b/x', 'x_1', 'd/y.png', 'd/y.jpg']);
    expect(new Set(s.map((x) => segmentOutputStem(x.relId))).size).toBe(5);
    // A picture can never land on the run directory's own files.
    expect(segmentOutputStem('maps/input/x')).toBe('%6Daps/input/x');
  });
});

describe('an unreadable mask leaves out its image, not the evaluation', () => {
  it('a 0-byte mask: the run and iapas evaluate both write metrics.json for the other images and list it', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    const cat = await writeTinyMvtec(data, 'widget', { anomalous: 3 });
    await writeFile(join(cat, 'ground_truth', 'crack', '001_mask.png'), '');
    const runDir = join(root, 'run');
    const res = await run(data, runDir);
    expect(res.metrics!.categories[0].n_images).toBe(4);
    expect(res.metrics!.problems.unreadable).toEqual([
      { map: 'widget/test/crack/001', path: join(cat, 'ground_truth', 'crack', '001_mask.png'), error: expect.stringMatching(/cannot decode image .*001_mask\.png/) },
    ]);
    expect(JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8')).problems.unreadable).toHaveLength(1);

    const cli = await runCli(['evaluate', '--dataset', data, '--maps', join(runDir, 'maps'), '--out', join(root, 'ev'), '--quiet', '--resolution', '32']);
    expect(cli.code).toBe(0);
    expect(cli.stderr).toMatch(/1 test image\(s\) left out of the evaluation.*\n.*widget\/test\/crack\/001: cannot decode image/);
    const ev = JSON.parse(await readFile(join(root, 'ev', 'metrics.json'), 'utf8'));
    expect(ev.categories[0].n_images).toBe(4);
  });
});

describe('one writer per run directory', () => {
  it('two runs started together into one directory: one runs, the other is refused before writing', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    await writeTinyMvtec(data);
    const runDir = join(root, 'run');
    const results = await Promise.allSettled([
      run(data, runDir, { cfg: config({ seed: 1 }) }),
      run(data, runDir, { cfg: config({ seed: 2 }) }),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toBeInstanceOf(RunDirLockedError);
    expect(refused[0].reason.message).toMatch(new RegExp(`in use by iapas run \\(pid ${process.pid} on ${hostname()}`));
    // Everything on disk is the winner's: its config, and records that a resume accepts.
    const seed = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')).seed;
    const winner = config({ seed });
    const again = await run(data, runDir, { cfg: winner, resume: true });
    expect(again.run.categories[0].computed).toBe(0);
    await expect(stat(join(runDir, LOCK_FILE))).rejects.toThrow();
  });

  it("a stale lock (its process is gone) is taken over; another host's lock is refused and named", async () => {
    const dir = await tmp();
    const dead = { pid: 2 ** 22 + 7, host: hostname(), command: 'iapas run', started: '2020-01-01T00:00:00Z', token: 'x' };
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(dead));
    const lock = await acquireRunLock(dir);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await expect(acquireRunLock(dir, { dirFlag: '--out' })).rejects.toThrow(/in use by iapas \(pid \d+ .*choose another --out/);
    await lock.release();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ ...dead, host: 'elsewhere' }));
    await expect(acquireRunLock(dir)).rejects.toThrow(new RegExp(`another host .*delete ${join(dir, LOCK_FILE)}`));
  });

  it('the runner takes the lock itself (as sweep workers will use it)', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    await writeTinyMvtec(data);
    const index = await loadDataset(data);
    const tests = index.samples.filter((s) => s.split === 'test');
    const held = await acquireRunLock(join(root, 'run'), { command: 'iapas sweep worker' });
    await expect(
      runPipeline({ pipeline: fakePipeline(), config: config(), jobs: [{ category: 'widget', references: [], tests }], runDir: join(root, 'run'), quiet: true }),
    ).rejects.toThrow(/in use by iapas sweep worker/);
    await held.release();
  });
});

describe('--resume recomputes what changed since it was computed', () => {
  it('a replaced test image is recomputed (and said so); the result equals a fresh run', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    const cat = await writeTinyMvtec(data);
    const runDir = join(root, 'run');
    const first = await run(data, runDir);
    // Replace one anomalous image by a normal-looking one: the old map would keep scoring the defect.
    await writeRgb(join(cat, 'test', 'crack', '000.png'), 95, false);
    const resumed = await run(data, runDir, { resume: true });
    expect(resumed.run.categories[0]).toMatchObject({ computed: 1, skipped: 4, recomputed: { 'image changed': 1 } });
    const fresh = await run(data, join(root, 'fresh'));
    expect(resumed.metrics!.categories[0].pixel_ap).toBe(fresh.metrics!.categories[0].pixel_ap);
    expect(resumed.metrics!.categories[0].pixel_ap).not.toBe(first.metrics!.categories[0].pixel_ap);
    expect(await runDirFiles(runDir)).toEqual(await runDirFiles(join(root, 'fresh')));
  });

  it('a replaced reference recomputes the whole category; a replaced mask updates records and metrics only', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    const cat = await writeTinyMvtec(data);
    const runDir = join(root, 'run');
    await run(data, runDir);
    const refs = (await new RunDir(runDir).readStageA('widget'))!.references;
    await writeRgb(refs[0], 10);
    const afterRef = await run(data, runDir, { resume: true });
    expect(afterRef.run.categories[0]).toMatchObject({ computed: 5, skipped: 0, recomputed: { 'references changed': 5 } });

    // An emptied mask: no map changes, the evaluation reads the new mask.
    await writeRgb(join(root, 'blank.png'), 0);
    await cp(join(root, 'blank.png'), join(cat, 'ground_truth', 'crack', '002_mask.png'));
    const afterMask = await run(data, runDir, { resume: true });
    expect(afterMask.run.categories[0]).toMatchObject({ computed: 0, skipped: 5, updated: 1 });
    const fresh = await run(data, join(root, 'fresh'));
    expect(afterMask.metrics!.categories[0].pixel_ap).toBe(fresh.metrics!.categories[0].pixel_ap);
    expect(await runDirFiles(runDir)).toEqual(await runDirFiles(join(root, 'fresh')));
  });

  it('a run stopped halfway through recomputing leaves no stale record that looks current', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    await writeTinyMvtec(data);
    const runDir = join(root, 'run');
    await run(data, runDir);
    const refs = (await new RunDir(runDir).readStageA('widget'))!.references;
    await writeRgb(refs[1], 200);
    // Stage A (and stage-a.json) is redone, then the run stops after one image.
    const stopped = await runOnDataset({ config: config({ concurrency: 1 }), dataset: data, runDir, resume: true, quiet: true, pipeline: fakePipeline(), maxImages: 1 });
    expect(stopped.run.aborted).toBe(true);
    const rest = await run(data, runDir, { resume: true });
    expect(rest.run.categories[0]).toMatchObject({ computed: 4, skipped: 1, recomputed: { 'references changed': 4 } });
    await run(data, join(root, 'fresh'));
    expect(await runDirFiles(runDir)).toEqual(await runDirFiles(join(root, 'fresh')));
  });

  it("a killed writer's temporary files are removed by the next run, which holds the lock", async () => {
    const root = await tmp();
    const data = join(root, 'data');
    await writeTinyMvtec(data);
    const runDir = join(root, 'run');
    await run(data, runDir);
    const orphan = join(runDir, 'categories', 'widget', 'images', 'test', 'crack', '000.json.4194311.0123abcd.tmp');
    await writeFile(orphan, '{"half":');
    await writeFile(join(runDir, 'metrics.json.4194311.89abcdef.tmp'), '');
    await run(data, runDir, { resume: true });
    await expect(stat(orphan)).rejects.toThrow();
    expect((await readdir(runDir, { recursive: true })).filter((f) => String(f).endsWith('.tmp'))).toEqual([]);
  });

  it('records of an older run (no input hashes) are recomputed rather than trusted', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    await writeTinyMvtec(data);
    const runDir = join(root, 'run');
    await run(data, runDir);
    const dir = new RunDir(runDir);
    const rec = (await dir.readImage('widget', 'test/crack/000'))!;
    delete rec.inputs;
    await dir.writeRecord(rec);
    const again = await run(data, runDir, { resume: true });
    expect(again.run.categories[0].recomputed).toEqual({ 'no input hashes recorded': 1 });
  });
});

describe('symlink loops in a folder dataset', () => {
  it('one image and links to its own folder load as one image, at once', async () => {
    const root = await tmp();
    const d = join(root, 'shots');
    await writeRgb(join(d, 'one.png'), 100);
    for (const l of ['a', 'b', 'c']) await symlink('.', join(d, l));
    await symlink('one.png', join(d, 'same.png'));
    const index = await loadDataset(d);
    expect(index.layout).toBe('folder');
    expect(index.samples.map((s) => s.relId)).toEqual(['one']);
    expect(index.problems.filter((p) => /already read/.test(p.message))).toHaveLength(4);
  });
});

describe('outputs are checked before any work', () => {
  it('--run-dir and --json in places that cannot be written: one line naming the path as given', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    await writeTinyMvtec(data);
    const aFile = join(root, 'plain-file');
    await writeFile(aFile, 'x');
    const cases: Array<[string[], RegExp]> = [
      [['run', '--preset', 'fewshot', '--dataset', data, '--run-dir', join(aFile, 'run')], /cannot write --run-dir .*plain-file\/run: .*plain-file is a file, not a folder/],
      [['run', '--preset', 'fewshot', '--dataset', data, '--run-dir', join(root, 'r'), '--json', join(aFile, 'm.json')], /cannot write --json .*plain-file\/m\.json/],
      [['run', '--preset', 'fewshot', '--dataset', data, '--run-dir', aFile], /cannot write --run-dir .*plain-file: it is a file, not a folder/],
      [['evaluate', '--dataset', data, '--maps', join(root, 'maps'), '--out', join(aFile, 'o')], /cannot write --out /],
      [['segment', join(data, 'widget/test/good/000.png'), '--refs', join(data, 'widget/train/good/000.png'), '--out', join(aFile, 's')], /cannot write --out /],
      [['datasets', 'inspect', data, '--json', join(aFile, 'i.json')], /cannot write --json /],
    ];
    for (const [args, why] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).not.toMatch(/\.tmp|IAPAS_DEBUG/);
    }
    await expect(stat(join(root, 'r'))).rejects.toThrow();
  });
});
