import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireRunLock, LOCK_FILE } from '../../src/run-directory/lock.js';
import { buildReport } from '../../src/report/build.js';
import { discoverInputs, loadRuns } from '../../src/report/inputs.js';

let root: string;

const metricsJson = (nImages: number) => ({
  tool: 'iapas evaluate',
  dataset: { root: '/data/toy', layout: 'mvtec', name: 'toy' },
  maps: null,
  options: { resolution: 400, normalize: true, normal_images: 'include', normal_images_resolved: 'include', aupro: 'grid', fpr_limit: 0.3, image_score: 'max' },
  categories: [{ category: 'c', n_images: nImages, n_anomalous: 2, n_normal: nImages - 2, pixel_ap: 0.5, pixel_f1_max: 0.5, notes: [] }],
  mean: { pixel_ap: 0.5, pixel_f1_max: 0.5, n_categories: {}, n_images: nImages },
  problems: { missing_maps: [], extra_maps: [], size_mismatch: [], dataset: [] },
});

/** A run directory of `n` image records, the maps of the first `withMaps` of them written. */
async function runDir(name: string, n: number, withMaps: number, metricsImages = n): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, 'categories', 'c', 'images'), { recursive: true });
  await mkdir(join(dir, 'maps', 'c'), { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ preset: 'fewshot' }));
  await writeFile(join(dir, 'metrics.json'), JSON.stringify(metricsJson(metricsImages)));
  for (let i = 0; i < n; i++) {
    const rec = { category: 'c', relId: `i${i}`, imagePath: `/data/toy/c/test/i${i}.png`, label: 'good', defectType: 'good', width: 8, height: 8, map: `maps/c/i${i}.npy` };
    await writeFile(join(dir, 'categories', 'c', 'images', `i${i}.json`), JSON.stringify(rec));
    if (i < withMaps) await writeFile(join(dir, 'maps', 'c', `i${i}.npy`), 'x');
  }
  return dir;
}

/** A pid that certainly belongs to no process now: a child that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-progress-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a run directory still being written', () => {
  it('with its lock held by a live process: marked running, missing maps counted against records and metrics.json', async () => {
    const dir = await runDir('live', 5, 2, 6);
    const lock = await acquireRunLock(dir, { command: 'iapas run' });
    try {
      const [run] = await loadRuns((await discoverInputs([dir])).runs);
      expect(run.progress).toMatchObject({ state: 'running', expected: 6, missingMaps: 4, owner: { pid: process.pid, host: hostname(), command: 'iapas run' } });
      const res = await buildReport({ inputs: [dir], out: join(root, 'report-live'), gallery: false });
      const note = res.notes.find((n) => n.startsWith('live: run still being written'));
      expect(note).toMatch(/4 of 6 maps missing/);
      const html = await readFile(res.index, 'utf8');
      expect(html).toContain('in progress, 4 of 6 maps missing');
      expect(html).toContain('(in progress)');
    } finally {
      await lock.release();
    }
  });

  it('with the lock of a dead owner: marked abandoned; with no lock: no mark, no note', async () => {
    const dir = await runDir('dead', 3, 3);
    const owner = { pid: deadPid(), host: hostname(), command: 'iapas run', started: '2026-01-01T00:00:00.000Z', token: '0123456789abcdef' };
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(owner));
    const done = await runDir('done', 3, 3);
    const runs = await loadRuns((await discoverInputs([dir, done])).runs);
    expect(runs[0].progress).toMatchObject({ state: 'abandoned', expected: 3, missingMaps: 0 });
    expect(runs[1].progress).toBeNull();
    const res = await buildReport({ inputs: [dir, done], out: join(root, 'report-dead'), gallery: false });
    expect(res.notes.filter((n) => /run (still being written|left incomplete)/.test(n))).toEqual([expect.stringMatching(/^dead: run left incomplete: .*ended without releasing its run.lock.*all 3 maps present/)]);
    const html = await readFile(res.index, 'utf8');
    expect(html).toContain('abandoned, 0 of 3 maps missing');
    expect(html.match(/class="incomplete"/g)?.length).toBe(2);
  });

  it('an unreadable lock file counts as held', async () => {
    const dir = await runDir('garbled', 2, 1);
    await writeFile(join(dir, LOCK_FILE), 'not json');
    const [run] = await loadRuns((await discoverInputs([dir])).runs);
    expect(run.progress).toMatchObject({ state: 'running', owner: null, missingMaps: 1, expected: 2 });
  });
});
