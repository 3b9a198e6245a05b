import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { tuneSchema } from '../../src/config/schema.js';
import { buildConfig, getPreset } from '../../src/methods/registry.js';
import { defaultSamEntry } from '../../src/models/sam/model-entry.js';
import { SamModel } from '../../src/models/sam/model.js';
import { runOnDataset } from '../../src/session/run-dataset.js';
import { runTune } from '../../src/tuning/run-tune.js';
import { DiskCache } from '../../src/util/disk-cache.js';
import { writeRgb, writeTinyMvtec } from '../support/fake-pipeline.js';

let dir: string;
let tuned: string;
let cache: DiskCache;

/** Runs the CLI, returning its exit code and what it wrote to stderr and stdout. */
async function cli(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  process.exitCode = undefined;
  try {
    await main(['node', 'iapas', ...args]);
    return { code: Number(process.exitCode ?? 0), stderr: spy.mock.calls.map((c) => String(c[0])).join(''), stdout: out.mock.calls.map((c) => String(c[0])).join('') };
  } finally {
    spy.mockRestore();
    out.mockRestore();
    process.exitCode = undefined;
  }
}

const fewshot = (sam: object) =>
  buildConfig('fewshot', { presetDefaults: getPreset('fewshot').defaults, flags: { cache_dir: cache.root, concurrency: 1, references: { k: 2 }, sam } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iapas-tuned-use-'));
  cache = new DiskCache(join(dir, 'cache'));
  await writeTinyMvtec(join(dir, 'seen'), 'widget', { anomalous: 1 });
  // Same layout and mask, other pixels: by content, not one of the training images.
  await writeTinyMvtec(join(dir, 'unseen'), 'widget', { anomalous: 1 });
  await writeRgb(join(dir, 'unseen', 'widget', 'test', 'crack', '000.png'), 40, true);
  // A large learning rate so that one step moves the weights enough to change the masks.
  const settings = tuneSchema.parse({ data: [join(dir, 'seen')], epochs: 2, lr: 0.05, lora: { rank: 2, alpha: 2 } });
  const r = await runTune({ settings, out: join(dir, 'tuned'), cache, quiet: true });
  tuned = r.decoderPath!;
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a tuned decoder in iapas oracle and iapas run', () => {
  it('oracle refuses a dataset the decoder was tuned on, before any work, naming the decoder and sam.allow_seen_data', async () => {
    const json = join(dir, 'refused.json');
    const r = await cli(['oracle', '--dataset', join(dir, 'seen'), '--modes', 'b', '--set', `sam.decoder=${tuned}`, '--json', json, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(tuned);
    expect(r.stderr).toMatch(/sam\.allow_seen_data=true/);
    expect(r.stderr).toMatch(/trained on seen/);
    expect(existsSync(json)).toBe(false);
  });

  it('oracle runs on seen data with sam.allow_seen_data=true and warns that it is seen data', async () => {
    const json = join(dir, 'allowed.json');
    const r = await cli(['oracle', '--dataset', join(dir, 'seen'), '--modes', 'b', '--set', `sam.decoder=${tuned}`, '--set', 'sam.allow_seen_data=true', '--json', json, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*the results are on seen data/);
    const written = JSON.parse(await readFile(json, 'utf8'));
    expect(written.categories).toHaveLength(1);
    expect(written.seen_data).toMatchObject({ decoder: tuned, seen_images: 1, evaluated_images: 1 });
  }, 120_000);

  it('oracle with --set sam.decoder uses the tuned weights on unseen data: other masks than the frozen decoder, no warning', async () => {
    const frozenJson = join(dir, 'frozen.json');
    const tunedJson = join(dir, 'tuned.json');
    const cacheArgs = ['--cache-dir', cache.root];
    expect((await cli(['oracle', '--dataset', join(dir, 'unseen'), '--modes', 'b,bp', '--json', frozenJson, '--quiet', ...cacheArgs])).code).toBe(0);
    const r = await cli(['oracle', '--dataset', join(dir, 'unseen'), '--modes', 'b,bp', '--set', `sam.decoder=${tuned}`, '--json', tunedJson, '--quiet', ...cacheArgs]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/seen data/);
    const f = JSON.parse(await readFile(frozenJson, 'utf8')).categories[0].figures;
    const t = JSON.parse(await readFile(tunedJson, 'utf8')).categories[0].figures;
    expect([t.b.iou, t.b.pixel_auroc, t.bp.iou, t.bp.pixel_auroc]).not.toEqual([f.b.iou, f.b.pixel_auroc, f.bp.iou, f.bp.pixel_auroc]);
  }, 120_000);

  it('the tuned decoder gives other masks for the same embedding, and outputs derived from it key on its hash', async () => {
    const frozen = await SamModel.load(defaultSamEntry(), { cache });
    const other = await SamModel.load({ ...defaultSamEntry(), decoderPath: tuned }, { cache });
    try {
      const image = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(90) };
      for (let i = 8 * 32; i < 16 * 32; i++) if (i % 32 >= 8 && i % 32 < 16) image.data.fill(250, i * 3, i * 3 + 3);
      const [a] = await frozen.segment(image, [{ box: [6, 6, 18, 18] }]);
      const [b] = await other.segment(image, [{ box: [6, 6, 18, 18] }]);
      expect(Array.from(b.mask)).not.toEqual(Array.from(a.mask));
      // The embedding key names the encoder only, so the frozen encoder's cache serves both.
      expect(await other.embeddingKey('x')).toBe(await frozen.embeddingKey('x'));
      expect(await other.decoderKey()).not.toBe(await frozen.decoderKey());
    } finally {
      await frozen.dispose();
      await other.dispose();
    }
  }, 120_000);

  it('oracle fails clearly, before any work, on a decoder file of another contract or a corrupt one', async () => {
    const json = join(dir, 'bad.json');
    const wrong = await cli(['oracle', '--dataset', join(dir, 'unseen'), '--modes', 'b', '--set', `sam.decoder=${defaultSamEntry().encoderPath}`, '--json', json, '--quiet']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/decoder/i);
    expect(wrong.stderr).toContain(defaultSamEntry().encoderPath);
    const corrupt = join(dir, 'corrupt.onnx');
    await writeFile(corrupt, Buffer.from('not an onnx model at all'));
    const bad = await cli(['oracle', '--dataset', join(dir, 'unseen'), '--modes', 'b', '--set', `sam.decoder=${corrupt}`, '--json', json, '--quiet']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(corrupt);
    expect(existsSync(json)).toBe(false);
  });

  it('iapas run (runOnDataset) refuses seen data before any image work, runs it flagged with sam.allow_seen_data (metrics.json, iapas compare), and runs unseen data', async () => {
    const refusedDir = join(dir, 'run-refused');
    await expect(runOnDataset({ config: fewshot({ decoder: tuned }), dataset: join(dir, 'seen'), runDir: refusedDir, quiet: true })).rejects.toThrow(
      new RegExp(`fewshot on seen: 1 of its 1 anomalous images were training images of the tuned decoder ${tuned.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*sam\\.allow_seen_data=true`),
    );
    expect(existsSync(refusedDir)).toBe(false);

    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const allowed = await runOnDataset({ config: fewshot({ decoder: tuned, allow_seen_data: true }), dataset: join(dir, 'seen'), runDir: join(dir, 'run-allowed'), quiet: true });
      expect(allowed.metrics?.categories).toHaveLength(1);
      expect(spy.mock.calls.map((c) => String(c[0])).join('')).toMatch(/the results are on seen data/);
      spy.mockClear();
      const unseen = await runOnDataset({ config: fewshot({ decoder: tuned }), dataset: join(dir, 'unseen'), runDir: join(dir, 'run-unseen'), quiet: true });
      expect(unseen.metrics?.categories).toHaveLength(1);
      expect(spy.mock.calls.map((c) => String(c[0])).join('')).not.toMatch(/seen data/);
    } finally {
      spy.mockRestore();
    }
    // The flag lives in the run directory, not only on stderr: metrics.json names the decoder and the count.
    const flagged = JSON.parse(await readFile(join(dir, 'run-allowed', 'metrics.json'), 'utf8'));
    expect(flagged.seen_data).toMatchObject({ decoder: tuned, trained_on: ['seen'], seen_images: 1, evaluated_images: 1 });
    expect(flagged.seen_data.decoder_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(await readFile(join(dir, 'run-unseen', 'metrics.json'), 'utf8')).seen_data).toBeUndefined();
    const cmp = await cli(['compare', join(dir, 'run-allowed'), join(dir, 'run-unseen'), '--labels', 'on-seen,on-unseen', '--json', join(dir, 'cmp.json')]);
    expect(cmp.code).toBe(0);
    expect(cmp.stdout).toMatch(/note: on-seen: scored on seen data: 1 of its 1 anomalous images/);
    expect(cmp.stdout).not.toMatch(/on-unseen: scored on seen data/);
    const cmpJson = JSON.parse(await readFile(join(dir, 'cmp.json'), 'utf8'));
    expect(cmpJson.runs.map((r: { seen_data?: unknown }) => r.seen_data !== undefined)).toEqual([true, false]);
  }, 300_000);
});
