import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/commands/evaluate.js';
import { loadDataset } from '../../src/datasets/index.js';
import type { Sample } from '../../src/datasets/types.js';
import { evaluateMaps, evaluateMapsFolder } from '../../src/evaluation/evaluate.js';
import { CategoryEvaluator, checkEvaluationMemory, EVAL_BYTES_PER_PIXEL, evaluationBytes, resolveProtocol, selectTestSamples } from '../../src/evaluation/protocol.js';
import { reportCsv, writeReport } from '../../src/evaluation/metrics-files.js';
import { savePng } from '../../src/image/io.js';
import { resizeBicubic, resizeNearest } from '../../src/image/resize.js';
import { pixelMetrics, rankingMetrics } from '../../src/metrics/pixel-metrics.js';
import { labelComponents } from '../../src/image/connected-components.js';
import { encodeNpy } from '../../src/util/npy.js';
import { Lcg } from '../metrics/golden-data.js';

function square(w: number, h: number, x0: number, y0: number, s: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) m[y * w + x] = 1;
  return m;
}

function noisyMap(mask: Uint8Array, g: Lcg, gain: number): Float32Array {
  return Float32Array.from(mask, (v) => g.next() + gain * v * g.next());
}

describe('CategoryEvaluator (docs/method.md section 5)', () => {
  it('equals resizing, normalising and pooling by hand, and records image scores as map maxima', () => {
    const g = new Lcg(3);
    const w = 48;
    const h = 36;
    const masks = [square(w, h, 5, 5, 8), null, square(w, h, 20, 10, 12)];
    const maps = masks.map((m) => noisyMap(m ?? new Uint8Array(w * h), g, 2));
    const opts = resolveProtocol({ resolution: 64, aupro: 'exact' });
    const ev = new CategoryEvaluator('c', 3, opts);
    masks.forEach((m, i) => ev.add(`img${i}`, m !== null, { data: maps[i], width: w, height: h }, m && { data: m, width: w, height: h }));
    const row = ev.finish();

    const S = 64;
    const scores = new Float32Array(3 * S * S);
    const labels = new Uint8Array(3 * S * S);
    const posRegion: number[] = [];
    const regionArea: number[] = [];
    maps.forEach((m, i) => scores.set(resizeBicubic(m, w, h, S, S), i * S * S));
    const img = [0, 1, 2].map((i) => Math.max(...scores.subarray(i * S * S, (i + 1) * S * S)));
    const lo = Math.min(...scores);
    const hi = Math.max(...scores);
    for (let i = 0; i < scores.length; i++) scores[i] = (scores[i] - lo) / (hi - lo);
    masks.forEach((m, i) => {
      if (!m) return;
      const r = resizeNearest(m, w, h, S, S);
      labels.set(r, i * S * S);
      const { labels: lab, components } = labelComponents(r, S, S);
      const base = regionArea.length;
      components.forEach((c) => regionArea.push(c.area));
      lab.forEach((v) => v && posRegion.push(base + v - 1));
    });
    const px = pixelMetrics({ scores, labels, posRegion: Uint32Array.from(posRegion), regionArea }, { aupro: 'exact' });
    expect(row.pixel_auroc).toBe(px.auroc);
    expect(row.pixel_ap).toBe(px.ap);
    expect(row.aupro).toBe(px.aupro);
    expect(row.n_regions).toBe(2);
    const im = rankingMetrics(img, [1, 0, 1]);
    expect(row.image_auroc).toBe(im.auroc);
    expect(row.pixel_auroc!).toBeGreaterThan(0.7);
    expect(row.notes).toEqual([]);
  });

  it('normalisation changes no ranking metric but is recorded; NaN maps are an error naming the map', () => {
    const g = new Lcg(4);
    const m = square(20, 20, 2, 2, 6);
    const map = noisyMap(m, g, 1.5).map((v) => v * 50 + 7);
    const run = (normalize: boolean) => {
      const ev = new CategoryEvaluator('c', 1, resolveProtocol({ resolution: 20, normalize }));
      ev.add('a', true, { data: map, width: 20, height: 20 }, { data: m, width: 20, height: 20 });
      return ev.finish();
    };
    const on = run(true);
    const off = run(false);
    expect(Math.abs(on.pixel_auroc! - off.pixel_auroc!)).toBeLessThan(1e-9);
    expect(Math.abs(on.aupro! - off.aupro!)).toBeLessThan(1e-9);
    expect(on.pixel_f1_threshold!).toBeLessThanOrEqual(1);
    expect(off.pixel_f1_threshold!).toBeGreaterThan(1);
    expect(on.image_auroc).toBeNull();
    expect(on.notes.join()).toMatch(/image metrics undefined/);
    const ev = new CategoryEvaluator('c', 1, resolveProtocol({ resolution: 8 }));
    const bad = new Float32Array(4).fill(0.5);
    bad[2] = Number.NaN;
    expect(() => ev.add('cat/test/x/001', true, { data: bad, width: 2, height: 2 }, null)).toThrow(/cat\/test\/x\/001.*NaN/);
  });

  it('an all-normal category gives null pixel metrics with a note, not NaN', () => {
    const ev = new CategoryEvaluator('c', 2, resolveProtocol({ resolution: 8 }));
    ev.add('a', false, { data: new Float32Array(16).fill(0.2), width: 4, height: 4 }, null);
    ev.add('b', false, { data: new Float32Array(16).fill(0.9), width: 4, height: 4 }, null);
    const row = ev.finish();
    expect([row.pixel_auroc, row.pixel_ap, row.pixel_f1_max, row.aupro, row.image_auroc]).toEqual([null, null, null, null, null]);
    expect(row.notes.join(' ')).toMatch(/no anomalous pixel/);
  });

  it('selects normal test images as asked; reference keeps them for MVTec AD only', () => {
    const s = (relId: string, label: 'normal' | 'anomalous', split: 'train' | 'test' = 'test'): Sample => ({
      category: 'c', split, imagePath: `/x/${relId}.png`, maskPath: null, label, defectType: label === 'normal' ? 'good' : 'crack', relId,
    });
    const samples = [s('train/good/0', 'normal', 'train'), s('test/good/0', 'normal'), s('test/crack/0', 'anomalous')];
    const pick = (mode: 'include' | 'skip' | 'reference', root: string) => selectTestSamples(samples, 'c', mode, { root });
    expect(pick('include', '/d/btad').samples.map((x) => x.relId)).toEqual(['test/good/0', 'test/crack/0']);
    expect(pick('skip', '/d/mvtec').samples.map((x) => x.relId)).toEqual(['test/crack/0']);
    expect(pick('reference', '/d/mvtec_anomaly_detection').normalImages).toBe('include');
    expect(pick('reference', '/d/BTAD').normalImages).toBe('skip');
    expect(pick('reference', '/d/mpdd').samples).toHaveLength(1);
  });
});

describe('evaluating maps from a folder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iapas-eval-'));
    const g = new Lcg(9);
    const root = join(dir, 'toyset');
    const maps = join(dir, 'maps');
    const W = 40;
    const H = 30;
    for (const cat of ['a', 'b']) {
      await mkdir(join(root, cat, 'train', 'good'), { recursive: true });
      await savePng(join(root, cat, 'train', 'good', '000.png'), { width: W, height: H, data: new Uint8Array(W * H).fill(90) });
      for (const [defect, k] of [['good', 0], ['good', 1], ['crack', 0], ['crack', 1], ['crack', 2]] as const) {
        const name = `00${k}`;
        const mask = defect === 'good' ? new Uint8Array(W * H) : square(W, H, 4 + 8 * k, 6 + 3 * k, 7);
        await savePng(join(root, cat, 'test', defect, `${name}.png`), { width: W, height: H, data: new Uint8Array(W * H).fill(100) });
        if (defect !== 'good') await savePng(join(root, cat, 'ground_truth', defect, `${name}_mask.png`), { width: W, height: H, data: mask }, { mask: true });
        if (cat === 'b' && defect === 'crack' && k === 2) continue; // a missing map
        const map = noisyMap(mask, g, 1.2);
        await mkdir(join(maps, cat, 'test', defect), { recursive: true });
        if (cat === 'b' && defect === 'good' && k === 1) {
          // a PNG map at another size: 16-bit gray
          const small = resizeBicubic(map, W, H, 20, 15);
          const png = new Uint8Array(20 * 15);
          for (let i = 0; i < png.length; i++) png[i] = Math.max(0, Math.min(255, Math.round(small[i] * 100)));
          await savePng(join(maps, cat, 'test', defect, `${name}.png`), { width: 20, height: 15, data: png });
        } else {
          await writeFile(join(maps, cat, 'test', defect, `${name}.npy`), encodeNpy(map, [H, W]));
        }
      }
    }
    await writeFile(join(maps, 'a', 'test', 'crack', 'stray.npy'), encodeNpy(new Float32Array(4), [2, 2]));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports missing, extra and mis-sized maps by name, and writes CSV and JSON with the options', async () => {
    const dataset = await loadDataset(join(dir, 'toyset'));
    const report = await evaluateMapsFolder({ dataset, mapsDir: join(dir, 'maps'), quiet: true, options: { resolution: 32 } });
    expect(report.problems.missing_maps).toEqual(['b/test/crack/002']);
    expect(report.problems.extra_maps).toEqual(['a/test/crack/stray.npy']);
    expect(report.problems.size_mismatch).toEqual([{ map: 'b/test/good/001', map_size: [20, 15], image_size: [40, 30] }]);
    const [a, b] = report.categories;
    expect([a.n_images, a.n_anomalous, b.n_images, b.n_anomalous]).toEqual([5, 3, 4, 2]);
    expect(a.pixel_auroc!).toBeGreaterThan(0.6);
    expect(report.mean.pixel_auroc).toBeCloseTo((a.pixel_auroc! + b.pixel_auroc!) / 2, 12);
    expect(report.options).toMatchObject({ resolution: 32, normalize: true, normal_images: 'include', aupro: 'grid', fpr_limit: 0.3 });

    const skip = await evaluateMapsFolder({ dataset, mapsDir: join(dir, 'maps'), quiet: true, options: { resolution: 32, normalImages: 'reference' } });
    expect(skip.options.normal_images_resolved).toBe('skip');
    expect(skip.categories[0].n_images).toBe(3);
    expect(skip.categories[0].image_auroc).toBeNull();
    expect(skip.problems.extra_maps).toEqual(['a/test/crack/stray.npy']);

    const files = await writeReport(report, join(dir, 'out'));
    const csv = (await readFile(files.csv, 'utf8')).trim().split('\n');
    expect(csv[0]).toBe(
      'category,n_images,n_anomalous,n_normal,pixel_auroc,pixel_ap,pixel_f1_max,aupro,image_auroc,image_ap,image_f1_max,resolution,normalize,normal_images,aupro_definition,fpr_limit',
    );
    expect(csv).toHaveLength(4);
    expect(csv[3].startsWith('mean,9,5,4,')).toBe(true);
    expect(csv[1].endsWith(',32,true,include,grid,0.300000')).toBe(true);
    expect(reportCsv(report)).toBe(csv.join('\n') + '\n');
    const json = JSON.parse(await readFile(files.json, 'utf8'));
    expect(json.categories[0].pixel_ap).toBe(a.pixel_ap);
  });

  it('iapas evaluate writes the tables and --json; --strict fails on the problems it reported', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const run = (extra: string[]) => {
        const program = new Command().exitOverride();
        register(program);
        return program.parseAsync(['node', 'iapas', 'evaluate', '--dataset', join(dir, 'toyset'), '--maps', join(dir, 'maps'), '--quiet', ...extra]);
      };
      await run(['--out', join(dir, 'cli'), '--json', join(dir, 'cli', 'full.json'), '--resolution', '24', '--aupro', 'anomalib', '--categories', 'a']);
      const json = JSON.parse(await readFile(join(dir, 'cli', 'full.json'), 'utf8'));
      expect(json.options).toMatchObject({ resolution: 24, aupro: 'exact' });
      expect(json.categories.map((c: { category: string }) => c.category)).toEqual(['a']);
      expect(await readFile(join(dir, 'cli', 'metrics.csv'), 'utf8')).toMatch(/^category,/);
      expect(String(err.mock.calls.flat().join(''))).toMatch(/a\/test\/crack\/stray\.npy/);
      await expect(run(['--out', join(dir, 'cli2'), '--strict'])).rejects.toThrow(/--strict/);
      await expect(run(['--aupro', 'bogus'])).rejects.toThrow(/--aupro/);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  it('fails clearly when no map matches the dataset at all', async () => {
    const dataset = await loadDataset(join(dir, 'toyset'));
    await expect(evaluateMapsFolder({ dataset, mapsDir: join(dir, 'nothing'), quiet: true })).rejects.toThrow(/no maps found/);
  });

  it('takes maps from any loader (the pipeline API)', async () => {
    const dataset = await loadDataset(join(dir, 'toyset'), { categories: ['a'] });
    const report = await evaluateMaps({
      dataset,
      quiet: true,
      options: { resolution: 16, aupro: 'exact' },
      loadMap: async (s) => ({ data: new Float32Array(40 * 30).fill(s.label === 'anomalous' ? 1 : 0), width: 40, height: 30 }),
    });
    expect(report.categories[0].image_auroc).toBe(1);
    expect(report.categories[0].pixel_auroc).toBeGreaterThan(0.5);
    expect(report.maps).toBeNull();
    const given = await evaluateMaps({
      dataset,
      quiet: true,
      options: { resolution: 16 },
      loadMap: async (s) => ({ data: new Float32Array(40 * 30).fill(0.5), width: 40, height: 30, imageScore: s.label === 'anomalous' ? -1 : 3 }),
    });
    expect(given.categories[0].image_auroc).toBe(0);
    expect(given.categories[0].pixel_auroc).toBe(0.5);
    expect(given.categories[0].notes.join()).toMatch(/image scores given by the method for 5 of 5/);
  });
});

describe('sizes named right, memory bounded', () => {
  it('a mask whose size differs from its image is reported with the image, mask and map sizes each in its place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iapas-eval-sizes-'));
    try {
      const cat = join(dir, 'set', 'c');
      const W = 40;
      const H = 30;
      await savePng(join(cat, 'train', 'good', '000.png'), { width: W, height: H, data: new Uint8Array(W * H).fill(90) });
      await savePng(join(cat, 'test', 'crack', '000.png'), { width: W, height: H, data: new Uint8Array(W * H).fill(90) });
      await savePng(join(cat, 'test', 'good', '000.png'), { width: W, height: H, data: new Uint8Array(W * H).fill(90) });
      // The mask is stored transposed (30 x 40), as a mislabelled export would.
      await savePng(join(cat, 'ground_truth', 'crack', '000_mask.png'), { width: H, height: W, data: square(H, W, 2, 2, 6) }, { mask: true });
      const maps = join(dir, 'maps');
      await mkdir(join(maps, 'c', 'test', 'crack'), { recursive: true });
      await mkdir(join(maps, 'c', 'test', 'good'), { recursive: true });
      await writeFile(join(maps, 'c', 'test', 'crack', '000.npy'), encodeNpy(new Float32Array(W * H).fill(1), [H, W]));
      await writeFile(join(maps, 'c', 'test', 'good', '000.npy'), encodeNpy(new Float32Array(W * H), [H, W]));
      const report = await evaluateMapsFolder({ dataset: await loadDataset(join(dir, 'set')), mapsDir: maps, quiet: true, options: { resolution: 16 } });
      expect(report.problems.size_mismatch).toEqual([{ map: 'c/test/crack/000', map_size: [40, 30], image_size: [40, 30], mask_size: [30, 40] }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a category too large for memory is refused with an estimate and what to lower, before any map is read', async () => {
    const opts = resolveProtocol({ resolution: 4096, memoryLimit: 8 * 2 ** 30 });
    expect(evaluationBytes(87, 4096)).toBe(87 * 4096 * 4096 * EVAL_BYTES_PER_PIXEL);
    expect(() => checkEvaluationMemory('screw', 87, opts)).toThrow(
      /category screw: evaluating 87 maps at 4096x4096 needs about 21\.8 GiB \(16 bytes per pooled pixel\), more than the 8\.0 GiB allowed; lower --resolution \(2480 needs 8\.0 GiB\) or raise the limit with --max-memory/,
    );
    expect(() => new CategoryEvaluator('screw', 87, opts)).toThrow(/needs about 21\.8 GiB/);
    expect(() => checkEvaluationMemory('screw', 87, { resolution: 400, memoryLimit: 8 * 2 ** 30 })).not.toThrow();
    // Over the pool's 2^31 - 1 pixels, whatever the memory.
    expect(() => checkEvaluationMemory('big', 200, { resolution: 4096, memoryLimit: 2 ** 50 })).toThrow(/exceed the pool's 2\^31 - 1/);

    let loaded = 0;
    const dataset = {
      layout: 'mvtec' as const,
      root: '/x',
      categories: ['c'],
      problems: [],
      samples: Array.from({ length: 87 }, (_, i): Sample => ({ category: 'c', split: 'test', imagePath: `/x/${i}.png`, maskPath: null, label: 'normal', defectType: 'good', relId: `test/good/${i}` })),
    };
    await expect(
      evaluateMaps({ dataset, quiet: true, options: opts, loadMap: async () => (loaded++, { data: new Float32Array(4), width: 2, height: 2 }) }),
    ).rejects.toThrow(/needs about 21\.8 GiB/);
    expect(loaded).toBe(0);
  });
});
