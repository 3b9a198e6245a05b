import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SPT_PAPER_DEFAULTS, TUNE_DEFAULTS, tuneSchema } from '../../../src/config/schema.js';
import { loadDataset } from '../../../src/datasets/index.js';
import { configSchema } from '../../../src/methods/registry.js';
import { runOracle } from '../../../src/methods/oracle/study.js';
import { loadSam, samEntryFor } from '../../../src/models/sam/load.js';
import { PROVENANCE_FILE } from '../../../src/tuning/export.js';
import { runTune } from '../../../src/tuning/run-tune.js';
import { DRAFT_DECODER_FILE, type SptProvenance } from '../../../src/tuning/spt/export.js';
import { DiskCache } from '../../../src/util/disk-cache.js';
import { writeTinyMvtec } from '../../support/fake-pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'iapas-spt-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('iapas tune with tune.method=spt', () => {
  it("takes the paper's LoRA and epochs unless set, and SPT's own settings under tune.spt", () => {
    const s = tuneSchema.parse({ method: 'spt' });
    expect(s.lora).toMatchObject(SPT_PAPER_DEFAULTS.lora);
    expect(s.epochs).toBe(SPT_PAPER_DEFAULTS.epochs);
    expect(s.spt).toEqual({ relation_pool: 4, vra: true, draft_loss: 1, detach_draft: true });
    expect(tuneSchema.parse({ method: 'spt', lora: { rank: 2 }, epochs: 1 })).toMatchObject({ lora: { rank: 2, alpha: 1 }, epochs: 1 });
    expect(TUNE_DEFAULTS.lora.rank).toBe(4); // box keeps its own
    expect(tuneSchema.safeParse({ method: 'spt', spt: { relation_pool: 3 } }).success).toBe(false);
  });

  it('tunes on a tiny dataset and writes a pair that fewshot (sam.decoder) and oracle load and run as draft then refine', async () => {
    const root = join(dir, 'toyS');
    await writeTinyMvtec(root, 'widget', { anomalous: 1 });
    const out = join(dir, 'out');
    const settings = tuneSchema.parse({ method: 'spt', data: [root], epochs: 1, lora: { rank: 2, alpha: 2 } });
    const r = await runTune({ settings, out, cache: new DiskCache(join(dir, 'cache')), quiet: true });
    expect(r.finished).toBe(true);
    expect(r.steps).toBe(1);
    expect(r.decoderPath).toBe(join(out, 'sam.onnx'));
    const prov = JSON.parse(readFileSync(join(out, PROVENANCE_FILE), 'utf8')) as SptProvenance;
    expect(prov.format).toBe('iapas-spt-sam-decoder/1');
    expect(prov.draft.file).toBe(DRAFT_DECODER_FILE);
    expect(prov.data.map((d) => d.name)).toEqual(['toyS']);

    const config = configSchema.parse({ preset: 'fewshot', sam: { decoder: r.decoderPath } });
    const entry = await samEntryFor(config.sam.model, join(dir, 'models'), config.sam.decoder);
    const sam = await loadSam(config.sam.model, join(dir, 'models'), undefined, entry.decoderPath);
    try {
      expect(sam.isSpt).toBe(true);
      const image = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(120) };
      const [m] = await sam.segment(image, [{ box: [8, 8, 16, 16] }]);
      expect(m.mask.length).toBe(32 * 32);
      expect(sam.stats.decoderRuns).toBe(2);
      const before = sam.stats.decoderRuns;
      const index = await loadDataset(root);
      const result = await runOracle(sam, index.samples, { modes: ['b'], quiet: true });
      expect(result.categories[0].figures.b.iou).not.toBeNull();
      // Every oracle prompt went through both decoders.
      expect(sam.stats.decoderRuns - before).toBe(2 * result.categories[0].figures.b.prompts);
    } finally {
      await sam.dispose();
    }
  }, 600_000);
});
