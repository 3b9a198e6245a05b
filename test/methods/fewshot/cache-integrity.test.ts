/**
 * Damaged model-output cache entries in a real fewshot run: recomputed with one warning each,
 * never taken for bad input, and the metrics are those of a clean run.
 */
import { readdir, readFile, rm, truncate, writeFile, mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunResources } from '../../../src/pipeline/resources.js';
import { runOnDataset } from '../../../src/session/run-dataset.js';
import { generateSyntheticDataset } from '../../../src/synth/index.js';
import { buildConfig, getPreset } from '../../../src/methods/registry.js';

let root: string;
let data: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-cache-integrity-'));
  data = join(root, 'data');
  await generateSyntheticDataset(data, { seed: 3, categories: ['disc'], size: 128, counts: { train: 2, testGood: 1, anomalous: 2 } });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).filter((f) => f.endsWith('.bin') || f.endsWith('.json')).map((f) => join(dir, f));
}

async function run(name: string) {
  const config = buildConfig('fewshot', { presetDefaults: getPreset('fewshot').defaults, flags: { cache_dir: join(root, 'cache'), references: { k: 2 } } });
  const resources = new RunResources();
  const warnings: string[] = [];
  resources.diskCache(config)!.warn = (m) => warnings.push(m);
  const res = await runOnDataset({ config, dataset: data, runDir: join(root, name), quiet: true, resources });
  await resources.dispose();
  return { res, warnings };
}

describe('damaged cache entries in a fewshot run', () => {
  it('a truncated fewshot-map entry, an overwritten one and a malformed sam-prompt-mask entry are recomputed, every image evaluated, metrics as a clean run', async () => {
    const clean = await run('clean');
    const m = clean.res.metrics!.categories[0];
    expect(m.n_images).toBe(3);
    const maps = await files(join(root, 'cache', 'fewshot-map'));
    expect(maps.length).toBe(3);
    await truncate(maps[0], (await stat(maps[0])).size - 100);
    const b = await readFile(maps[1]); // changed in place at the same size
    b[b.length - 5] ^= 0x55;
    await writeFile(maps[1], b);
    const masks = await files(join(root, 'cache', 'sam-prompt-mask'));
    await writeFile(masks[0], 'iapas-cache/2 3 ' + '0'.repeat(64));
    const again = await run('again');
    expect(again.res.run.failed).toEqual([]);
    expect(again.res.metrics!.categories[0].n_images).toBe(3);
    expect(again.res.metrics!.categories[0].pixel_ap).toBe(m.pixel_ap);
    const damaged = again.warnings.filter((w) => /damaged/.test(w));
    expect(damaged).toHaveLength(2 + (masks.length > 0 ? 1 : 0));
    expect(damaged.join('\n')).toContain(maps[0]);
    expect(damaged.join('\n')).toContain(maps[1]);
    expect(damaged.join('\n')).toContain(masks[0]);
  }, 300_000);
});
