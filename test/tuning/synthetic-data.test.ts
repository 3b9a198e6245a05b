import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tuneSchema } from '../../src/config/schema.js';
import { PROVENANCE_FILE } from '../../src/tuning/export.js';
import { runTune } from '../../src/tuning/run-tune.js';
import { DiskCache } from '../../src/util/disk-cache.js';
import { mulberry32 } from '../../src/util/random.js';

const dir = mkdtempSync(join(tmpdir(), 'iapas-tune-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SIDE = 96;
const root = join(dir, 'normals');
const trainFiles: string[] = [];

/** An MVTec-layout category with normal images only (train/good and test/good), textured so defects show. */
beforeAll(async () => {
  for (const [split, n] of [['train', 3], ['test', 1]] as const) {
    for (let i = 0; i < n; i++) {
      const r = mulberry32(10 * i + (split === 'train' ? 1 : 2));
      const raw = Buffer.from(Uint8Array.from({ length: SIDE * SIDE * 3 }, () => 90 + Math.floor(r() * 50)));
      const path = join(root, 'widget', split, 'good', `00${i}.png`);
      await mkdir(join(root, 'widget', split, 'good'), { recursive: true });
      await writeFile(path, await sharp(raw, { raw: { width: SIDE, height: SIDE, channels: 3 } }).png().toBuffer());
      if (split === 'train') trainFiles.push(path);
    }
  }
});

const settings = (extra: object) => tuneSchema.parse({ ...extra, data: [root], epochs: 1, lora: { rank: 2, alpha: 2 } });

describe('iapas tune on synthetic anomalies (tune.synthetic)', () => {
  it('refuses a set of normal images only without tune.synthetic, saying how to use them, before any work', async () => {
    const out = join(dir, 'out-refused');
    await expect(runTune({ settings: settings({}), out, quiet: true })).rejects.toThrow(/no anomalous image with a ground-truth mask .*3 normal training image\(s\): --set tune\.synthetic=<n>/);
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
  });

  it('trains on defects pasted onto the train-split normals, and the provenance records the generator, seed, count and those images', async () => {
    const out = join(dir, 'out-synth');
    const r = await runTune({ settings: settings({ synthetic: 2, seed: 5, prompts: 'box+point' }), out, cache: new DiskCache(join(dir, 'cache')), quiet: true });
    expect(r.finished).toBe(true);
    expect(r.items).toBeGreaterThanOrEqual(3); // at least one pasted component per training normal
    expect(r.epochLosses.every(Number.isFinite)).toBe(true);
    const prov = JSON.parse(readFileSync(join(out, PROVENANCE_FILE), 'utf8'));
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(prov.synthetic).toMatchObject({ seed: 5, count: 2, images: 3 });
    expect(prov.synthetic.generator).toMatch(/src\/synth/);
    expect(prov.synthetic.normal_images_sha256).toEqual(trainFiles.map(sha).sort());
    expect(prov.data[0]).toMatchObject({ name: 'normals', images: 0, synthetic_images: 3 });
    expect(prov.images_sha256).toEqual([]);
    expect(prov.config.prompts).toBe('box+point');
  }, 600_000);
});
