import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deepMerge, parseSetFlag } from '../../src/config/load.js';
import { flagsToConfig } from '../../src/commands/config-flags.js';
import { decodeRle, encodeRle } from '../../src/run-directory/rle.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { boxArea } from '../../src/image/box.js';
import { minMaxNormalize, scoreMap } from '../../src/image/masks.js';
import { normalizeStage, scoreStage } from '../../src/stages/score.js';
import { definePipeline, type CategoryState, type ImageState, type Stage } from '../../src/pipeline/types.js';
import { RunDir } from '../../src/run-directory/run-dir.js';
import type { DatasetIndex, Sample } from '../../src/datasets/types.js';
import { buildJobs, selectCategories, spread } from '../../src/session/jobs.js';
import { UserError } from '../../src/util/errors.js';
import { buildConfig, validateConfig, getPreset } from '../../src/methods/registry.js';

const tmpDirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'iapas-pipe-'));
  tmpDirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

describe('score map', () => {
  it('adds box scores where masks are set; overlaps add up', () => {
    const a = Uint8Array.from([1, 1, 0, 0]);
    const b = Uint8Array.from([0, 1, 1, 0]);
    expect(Array.from(scoreMap([a, b], [0.5, 0.25], 2, 2))).toEqual([0.5, 0.75, 0.25, 0]);
  });
  it('min-max normalises; a constant map becomes zeros', () => {
    expect(Array.from(minMaxNormalize(Float32Array.from([1, 3, 2])))).toEqual([0, 1, 0.5]);
    expect(Array.from(minMaxNormalize(Float32Array.from([2, 2])))).toEqual([0, 0]);
  });
  it('box area is normalised', () => {
    expect(boxArea([0, 0, 5, 4], 10, 10)).toBeCloseTo(0.2);
  });
  it('RLE round-trips', () => {
    const m = Uint8Array.from([1, 1, 0, 1, 0, 0, 0, 1, 1]);
    const r = encodeRle(m, 3, 3);
    expect(r.counts[0]).toBe(0);
    expect(Array.from(decodeRle(r))).toEqual(Array.from(m));
    expect(Array.from(decodeRle(encodeRle(new Uint8Array(6), 3, 2)))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('config', () => {
  it('has the reference defaults', () => {
    const c = buildConfig('iap-as', {});
    expect(c.detector).toMatchObject({ box_threshold: 0.1, text_threshold: 0.1, size_threshold: 0.8, nms_iou: 0.5 });
    expect(c.references.k).toBe(10);
    expect(c.seed).toBe(111);
    expect(c.eval.resolution).toBe(400);
  });
  it('layers: preset < file < flags', () => {
    const p = getPreset('fewshot');
    const c = buildConfig('fewshot', {
      presetDefaults: p.defaults,
      file: { references: { k: 6 }, detector: { box_threshold: 0.3 } },
      flags: flagsToConfig({ boxThreshold: '0.25', set: ['eval.resolution=256'] }),
    });
    expect(c.references.k).toBe(6);
    expect(c.detector.box_threshold).toBe(0.25);
    expect(c.eval.resolution).toBe(256);
    expect(buildConfig('fewshot', { presetDefaults: p.defaults }).references.k).toBe(4);
  });
  it('fewshot-cnn differs from fewshot only in its backbone', () => {
    const sam = buildConfig('fewshot', { presetDefaults: getPreset('fewshot').defaults });
    const cnn = buildConfig('fewshot-cnn', { presetDefaults: getPreset('fewshot-cnn').defaults });
    expect(sam.fewshot.backbone).toBe('minisam-ms');
    expect(cnn.fewshot.backbone).toBe('mobilenetv2');
    expect({ ...cnn, preset: 'fewshot', fewshot: { ...cnn.fewshot, backbone: 'minisam-ms' } }).toEqual(sam);
  });
  it('rejects bad values and unknown keys with the key path', () => {
    expect(() => validateConfig({ preset: 'x', detector: { box_threshold: 1.5 } }, 'f.yaml')).toThrow(/detector\.box_threshold/);
    expect(() => validateConfig({ preset: 'x', detectr: {} }, 'f.yaml')).toThrow(/unknown key.*detectr/);
    expect(() => validateConfig({ preset: 'x', references: { k: 'ten' } }, 'f.yaml')).toThrow(UserError);
    expect(() => flagsToConfig({ k: '2.5' })).toThrow(/--k expects an integer/);
  });
  it('--set parses dotted paths and typed values', () => {
    expect(parseSetFlag('a.b=0.5')).toEqual({ a: { b: 0.5 } });
    expect(parseSetFlag('x=true')).toEqual({ x: true });
    expect(deepMerge({ a: { b: 1, c: 2 } }, { a: { b: 3 } })).toEqual({ a: { b: 3, c: 2 } });
  });
  it('--object-tag implies the fixed tagger', () => {
    expect(flagsToConfig({ objectTag: 'screw' })).toMatchObject({ tagger: 'fixed', object_tag: 'screw' });
  });
});

describe('jobs', () => {
  const sample = (relId: string, split: 'train' | 'test', label: 'normal' | 'anomalous'): Sample => ({
    category: 'c',
    split,
    imagePath: `/d/c/${relId}.png`,
    maskPath: label === 'anomalous' ? `/d/c/gt/${relId}.png` : null,
    label,
    defectType: label === 'normal' ? 'good' : 'crack',
    relId,
  });
  const index: DatasetIndex = {
    layout: 'mvtec',
    root: '/d',
    categories: ['c'],
    problems: [],
    samples: [
      ...[0, 1, 2, 3, 4].map((i) => sample(`test/good/${i}`, 'test', 'normal')),
      ...[0, 1, 2].map((i) => sample(`test/crack/${i}`, 'test', 'anomalous')),
    ],
  };
  it('few-shot references drawn from the test split leave the evaluated set', () => {
    const cfg = buildConfig('fewshot', { flags: { references: { k: 2 } } });
    const [shots] = buildJobs(index, cfg, ['c'], { needsReferences: true, excludeReferences: true });
    expect(shots.references.length).toBe(2);
    expect(shots.tests.length).toBe(6);
    for (const r of shots.references) expect(shots.tests.map((t) => t.imagePath)).not.toContain(r.imagePath);
    const [zeroShot] = buildJobs(index, cfg, ['c'], { needsReferences: true });
    expect(zeroShot.tests.length).toBe(8);
  });
  it('limit spreads over the list; unknown categories are named', () => {
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7], 4)).toEqual([0, 2, 4, 6]);
    expect(() => selectCategories(index, ['c', 'nope'])).toThrow(/nope.*has: c/);
  });
});

describe('pipeline definition', () => {
  it('rejects a stage that reads what nothing earlier writes', () => {
    expect(() =>
      definePipeline({ name: 'bad', categoryStages: [], imageStages: [scoreStage, normalizeStage], models: [] }),
    ).toThrow(/reads 'image'/);
  });
});

// A deterministic fake detector + segmenter, to test the run machinery without models.
function fakePipeline(calls: { n: number }) {
  return definePipeline({ name: 'fake', categoryStages: [], imageStages: [fakeImageStage(calls), scoreStage, normalizeStage], models: [] });
}

function fakeImageStage(calls: { n: number }): Stage<ImageState> {
  return {
    name: 'fake-image',
    reads: ['sample'],
    writes: ['image', 'samPrompts', 'masks'],
    async run(s) {
      calls.n++;
      const seed = [...s.sample.relId].reduce((a, c) => a * 31 + c.charCodeAt(0), 7) % 1000;
      const w = 8;
      const h = 6;
      const m = new Uint8Array(w * h);
      for (let i = 0; i < m.length; i++) m[i] = (i * seed) % 5 === 0 ? 1 : 0;
      return {
        image: { width: w, height: h, data: new Uint8Array(w * h * 3) },
        samPrompts: [
          { from: 'detector', box: [0, 0, 4, 3], score: 0.3 + (seed % 7) / 10, phrase: 'scratch', kept: true, area: 0.25 },
          { from: 'detector', box: [0, 0, 8, 6], score: 0.9, phrase: 'plate', kept: false, dropped: 'size', area: 1 },
        ],
        masks: [m],
      };
    },
  };
}

// The runner records the sha256 of every input file, so the fake images exist (their bytes are
// never decoded by the fake stages).
const FAKE_IMAGES = mkdtempSync(join(tmpdir(), 'iapas-fake-images-'));
tmpDirs.push(FAKE_IMAGES);
function samples(n: number): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    category: 'cat',
    split: 'test' as const,
    imagePath: fakeImage(`${i}.png`, `image ${i}`),
    maskPath: null,
    label: 'anomalous' as const,
    defectType: 'scratch',
    relId: `test/scratch/${String(i).padStart(3, '0')}`,
  }));
}

function fakeImage(name: string, content: string): string {
  const p = join(FAKE_IMAGES, name);
  writeFileSync(p, content);
  return p;
}

async function listFiles(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name !== 'timing.json') out.set(relative(root, p), (await readFile(p)).toString('base64'));
    }
  };
  await walk(root);
  return out;
}

describe('runner', () => {
  const config = buildConfig('fewshot', { flags: { concurrency: 2 } });
  const jobs = [{ category: 'cat', references: [], tests: samples(6) }];

  it('an interrupted run resumed gives the same files as an uninterrupted one', async () => {
    const calls = { n: 0 };
    const full = await tmp();
    const s1 = await runPipeline({ pipeline: fakePipeline(calls), config, jobs, runDir: full, quiet: true });
    expect(s1.aborted).toBe(false);
    expect(calls.n).toBe(6);

    const part = await tmp();
    const c2 = { n: 0 };
    const s2 = await runPipeline({ pipeline: fakePipeline(c2), config, jobs, runDir: part, quiet: true, maxImages: 2 });
    expect(s2.aborted).toBe(true);
    expect(s2.categories[0].computed).toBeLessThan(6);
    // A half-written record (a kill mid-write would leave none, thanks to atomic writes; simulate worse).
    const recs = await readdir(join(part, 'categories/cat/images/test/scratch'));
    await unlink(join(part, 'categories/cat/images/test/scratch', recs[0]));

    await expect(runPipeline({ pipeline: fakePipeline(c2), config, jobs, runDir: part, quiet: true })).rejects.toThrow(/--resume/);
    const before = c2.n;
    const s3 = await runPipeline({ pipeline: fakePipeline(c2), config, jobs, runDir: part, quiet: true, resume: true });
    expect(s3.categories[0].skipped).toBe(recs.length - 1);
    expect(c2.n - before).toBe(6 - s3.categories[0].skipped);
    expect(await listFiles(part)).toEqual(await listFiles(full));
    expect((await stat(join(full, 'maps/cat/test/scratch/000.npy'))).size).toBeGreaterThan(8 * 6 * 4);
  });

  it("records a method's own fields as they are, and neither its memory nor the framework's images", async () => {
    interface Fields {
      category: { shade: string };
      image: { brightest: number };
    }
    const tagStage: Stage<CategoryState<Float32Array, Fields>> = {
      name: 'shade',
      reads: ['category'],
      writes: ['shade', 'memory'],
      run: async () => ({ shade: 'grey', memory: new Float32Array([1, 2, 3]) }),
    };
    const brightStage: Stage<ImageState<Float32Array, Fields>> = {
      name: 'brightest',
      reads: ['image', 'category'],
      writes: ['brightest'],
      run: async (s) => ({ brightest: Math.max(...s.category.memory!) + s.image!.width }),
    };
    const pipeline = definePipeline<Float32Array, Fields>({
      name: 'fields',
      categoryStages: [tagStage],
      imageStages: [fakeImageStage({ n: 0 }), brightStage, scoreStage, normalizeStage],
      models: [],
    });
    const dir = await tmp();
    await runPipeline({ pipeline, config, jobs, runDir: dir, quiet: true });
    const rd = new RunDir(dir);
    const stageA = await rd.readStageA<Fields['category']>('cat');
    expect(stageA?.shade).toBe('grey');
    expect(stageA && 'memory' in stageA).toBe(false);
    const rec = await rd.readImage<Fields['image']>('cat', jobs[0].tests[0].relId);
    expect(rec?.brightest).toBe(3 + 8);
    expect(rec && ['image', 'rawMap', 'sample'].filter((k) => k in rec)).toEqual([]);
    expect(rec?.samPrompts?.map((p) => p.from)).toEqual(['detector', 'detector']);
  });

  it('refuses to resume with a config that changes results', async () => {
    const dir = await tmp();
    await runPipeline({ pipeline: fakePipeline({ n: 0 }), config, jobs, runDir: dir, quiet: true });
    const other = buildConfig('fewshot', { flags: { seed: 5 } });
    await expect(runPipeline({ pipeline: fakePipeline({ n: 0 }), config: other, jobs, runDir: dir, quiet: true, resume: true })).rejects.toThrow(/config differs/);
  });
});
