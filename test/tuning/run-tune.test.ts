import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TUNE_DEFAULTS, tuneSchema } from '../../src/config/schema.js';
import { defaultSamEntry } from '../../src/models/sam/model-entry.js';
import { SamModel } from '../../src/models/sam/model.js';
import { PROVENANCE_FILE } from '../../src/tuning/export.js';
import { runTune } from '../../src/tuning/run-tune.js';
import { DiskCache } from '../../src/util/disk-cache.js';
import { writeTinyMvtec } from '../support/fake-pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'iapas-tune-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settings = (data: string[], extra: object = {}) => tuneSchema.parse({ ...extra, data, epochs: 1, lora: { rank: 2, alpha: 2 } });

describe('iapas tune (runTune)', () => {
  it('refuses data without masks before any work, with a clear message', async () => {
    const root = join(dir, 'nomasks');
    await writeTinyMvtec(root, 'widget', { anomalous: 0 });
    const out = join(dir, 'out-nomasks');
    await expect(runTune({ settings: settings([root]), out, quiet: true })).rejects.toThrow(/no anomalous image with a ground-truth mask/);
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
  });

  it('refuses a decoder file of another contract before any work', async () => {
    const root = join(dir, 'toy-bad');
    await writeTinyMvtec(root, 'widget', { anomalous: 1 });
    const out = join(dir, 'out-bad');
    // The encoder is a valid ONNX file but not a SamOnnxModel decoder.
    await expect(runTune({ settings: settings([root]), out, decoderPath: defaultSamEntry().encoderPath, quiet: true })).rejects.toThrow(
      /not segment-anything's SamOnnxModel decoder export/,
    );
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
  });

  it('refuses a holdout that names no training directory, and a method not built yet', async () => {
    const root = join(dir, 'toy-h');
    await expect(runTune({ settings: settings([root], { holdout: ['elsewhere'] }), out: join(dir, 'o'), quiet: true })).rejects.toThrow(/--holdout elsewhere names no --data/);
    await expect(runTune({ settings: settings([root], { method: 'spt' }), out: join(dir, 'o'), quiet: true })).rejects.toThrow(/not implemented/);
    expect(TUNE_DEFAULTS.lora.targets).toEqual(['q', 'v']);
  });

  it('tunes on a tiny dataset, writes a decoder SAM loads and a provenance naming the data it saw', async () => {
    const root = join(dir, 'toyA');
    await writeTinyMvtec(root, 'widget', { anomalous: 1 });
    const out = join(dir, 'out-a');
    const r = await runTune({ settings: settings([root]), out, cache: new DiskCache(join(dir, 'cache')), quiet: true });
    expect(r.finished).toBe(true);
    expect(r.steps).toBe(1);
    const prov = JSON.parse(readFileSync(join(out, PROVENANCE_FILE), 'utf8'));
    expect(prov.data.map((d: { name: string }) => d.name)).toEqual(['toyA']);
    expect(prov.data[0].images).toBe(1);
    expect(prov.losses).toHaveLength(1);

    const sam = await SamModel.load({ ...defaultSamEntry(), decoderPath: r.decoderPath! });
    try {
      const image = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(120) };
      const [m] = await sam.segment(image, [{ box: [8, 8, 16, 16] }]);
      expect(m.mask.length).toBe(32 * 32);
    } finally {
      await sam.release();
    }
  }, 300_000);
});
