/**
 * A run's maps are written once: the evaluation that follows takes the maps this call wrote from
 * memory, and the shared report's key takes the digest made as each was written; only maps of an
 * earlier call (resume) or beyond the memory budget are read back. The metrics do not depend on
 * which way a map came.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { buildConfig, type Config } from '../../src/methods/registry.js';
import { RunResources } from '../../src/pipeline/resources.js';
import { RunDir } from '../../src/run-directory/run-dir.js';
import { WrittenMaps } from '../../src/run-directory/written-maps.js';
import { runOnDataset } from '../../src/session/run-dataset.js';
import { fakePipeline, writeTinyMvtec } from '../support/fake-pipeline.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'iapas-evaluate-run-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const config = (): Config => buildConfig('fewshot', { flags: { references: { k: 2 }, concurrency: 2, cache: false, eval: { resolution: 32 } } });

describe('a run evaluates the maps it wrote without reading them back', () => {
  it('fresh: no map is read from disk, with or without shared resources; resume reads the maps it did not write', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    await writeTinyMvtec(data);
    const readMap = vi.spyOn(RunDir.prototype, 'readMap');
    const fresh = await runOnDataset({ config: config(), dataset: data, runDir: join(root, 'a'), quiet: true, pipeline: fakePipeline() });
    const shared = await runOnDataset({ config: config(), dataset: data, runDir: join(root, 'b'), quiet: true, pipeline: fakePipeline(), resources: new RunResources() });
    expect(fresh.run.categories[0].computed).toBe(5);
    expect(readMap).not.toHaveBeenCalled();
    const resumed = await runOnDataset({ config: config(), dataset: data, runDir: join(root, 'a'), quiet: true, pipeline: fakePipeline(), resume: true });
    expect(resumed.run.categories[0].skipped).toBe(5);
    expect(readMap).toHaveBeenCalledTimes(5);
    expect(resumed.metrics).toEqual(fresh.metrics);
    expect(shared.metrics!.categories).toEqual(fresh.metrics!.categories);
  });

  it('keeps maps up to its budget and the digest of every one', () => {
    const maps = new WrittenMaps(64);
    const map = (n: number) => ({ data: new Float32Array(n), width: n, height: 1 });
    maps.add('c', 'x', 'd1', map(10));
    maps.add('c', 'y', 'd2', map(10));
    expect(maps.map('c', 'x')?.width).toBe(10);
    expect(maps.map('c', 'y')).toBeUndefined(); // 80 bytes would exceed 64
    expect(maps.digest('c', 'y')).toBe('d2');
    maps.add('c', 'x', 'd3', map(16)); // a rewrite replaces the kept map and its bytes
    expect([maps.digest('c', 'x'), maps.map('c', 'x')?.width]).toEqual(['d3', 16]);
  });
});
