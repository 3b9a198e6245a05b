/**
 * Directories written by earlier versions still read, through the same readers as today's: an
 * image record without input hashes or mask path, a metrics.json without curves, map ranges or
 * unreadable inputs, a sweep-result.json without `computed_by`, and a results.json whose rows
 * name no run directory (as the first `iapas sweep` wrote them). Files of another shape are refused.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunDirectory } from '../../src/api/run-directory.js';
import { discoverInputs, loadRuns } from '../../src/report/inputs.js';
import { readSweepResults } from '../../src/report/sweep-results.js';
import { readMetricsFile } from '../../src/run-directory/metrics-file.js';
import { readJobResult } from '../../src/run-directory/sweep-result.js';
import { RunDir } from '../../src/run-directory/run-dir.js';
import { listImageRecords } from '../../src/run-directory/list-records.js';
import { encodeNpy } from '../../src/util/npy.js';

const METRICS = ['pixel_auroc', 'pixel_ap', 'pixel_f1_max', 'aupro', 'image_auroc', 'image_ap', 'image_f1_max'];
const row = (category: string, v: number) => ({
  category,
  n_images: 2,
  n_anomalous: 1,
  n_normal: 1,
  n_regions: 1,
  ...Object.fromEntries(METRICS.map((m) => [m, v])),
  pixel_f1_threshold: 0.5,
  image_f1_threshold: 0.5,
  notes: [],
});
const oldMetrics = {
  tool: 'iapas evaluate',
  dataset: { root: '/data/tiny', layout: 'mvtec', name: 'tiny' },
  maps: null,
  options: { resolution: 64, normalize: true, normal_images: 'auto', normal_images_resolved: 'include', aupro: 'region', fpr_limit: 0.3, image_score: 'max', map_resize: 'bicubic (OpenCV INTER_CUBIC)', mask_resize: 'nearest (OpenCV INTER_NEAREST)' },
  categories: [row('widget', 0.75)],
  mean: { ...Object.fromEntries(METRICS.map((m) => [m, 0.75])), n_categories: Object.fromEntries(METRICS.map((m) => [m, 1])), n_images: 2 },
  problems: { missing_maps: [], extra_maps: [], size_mismatch: [], dataset: [] },
};

let root: string;
let runDir: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-old-format-'));
  runDir = join(root, 'sweep', 'runs', 'k2', 'tiny');
  await mkdir(join(runDir, 'categories', 'widget', 'images'), { recursive: true });
  await mkdir(join(runDir, 'maps', 'widget'), { recursive: true });
  await writeFile(join(runDir, 'config.json'), JSON.stringify({ preset: 'fewshot', references: { k: 2 } }));
  await writeFile(join(runDir, 'models.json'), JSON.stringify([{ name: 'sam', files: [{ path: 'sam/encoder.onnx', sha256: 'ab' }] }]));
  // Before `samPrompts`, a map method's regions were recorded as boxes with the phrase 'region'.
  const boxes = [
    { box: [0, 0, 1, 1], score: 0.8, phrase: 'scratch', kept: true, area: 0.5 },
    { box: [0, 0, 2, 1], score: 0.9, phrase: 'widget', kept: false, dropped: 'size', area: 1 },
    { box: [1, 0, 2, 1], score: 0.25, phrase: 'region', kept: true, area: 0.5 },
  ];
  const record = { category: 'widget', relId: 'a', imagePath: '/data/tiny/widget/test/crack/a.png', label: 'anomalous', defectType: 'crack', width: 3, height: 2, boxes, map: 'maps/widget/a.npy' };
  await writeFile(join(runDir, 'categories', 'widget', 'images', 'a.json'), JSON.stringify(record));
  await writeFile(join(runDir, 'maps', 'widget', 'a.npy'), encodeNpy(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]));
  await writeFile(join(runDir, 'metrics.json'), JSON.stringify(oldMetrics));
  const { categories, mean } = oldMetrics;
  await writeFile(join(runDir, 'sweep-result.json'), JSON.stringify({ job: 'k2/tiny', run: 'k2', dataset: 'tiny', status: 'done', categories, mean, wall_s: 1.5, model_runs: { sam: 2 }, cache: {}, images_failed: 0 }));
  const columns = ['run', 'references.k', 'dataset', 'category', 'n_images', ...METRICS, 'wall_s', 'model_runs', 'cache_hits', 'error'];
  const metricCells = Object.fromEntries(METRICS.map((m) => [m, 0.75]));
  await writeFile(
    join(root, 'sweep', 'results.json'),
    JSON.stringify({
      tool: 'iapas sweep',
      sweep: 'old',
      metric: 'pixel_f1_max',
      varied: ['references.k'],
      metrics: METRICS,
      columns,
      runs: [{ id: 'k2', assignment: { 'references.k': 2 }, run_dirs: { tiny: runDir } }],
      rows: [
        { run: 'k2', 'references.k': 2, dataset: 'tiny', category: 'widget', n_images: 2, ...metricCells, wall_s: null, model_runs: null, cache_hits: null, error: null },
        { run: 'k2', 'references.k': 2, dataset: 'tiny', category: 'mean', n_images: 2, ...metricCells, wall_s: 1.5, model_runs: 2, cache_hits: 0, error: null },
        { run: 'k2', 'references.k': 2, dataset: 'mean', category: 'mean', n_images: 2, ...metricCells, wall_s: 1.5, model_runs: 2, cache_hits: 0, error: null },
      ],
      summary: {},
      pending: [],
    }),
  );
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('an old-format run directory', () => {
  it('reads as a run directory: config, metrics, models, records, maps', async () => {
    const rd = await readRunDirectory(runDir);
    expect(rd.metrics?.mean.pixel_ap).toBe(0.75);
    expect(rd.metrics?.categories[0].curves).toBeUndefined();
    expect(rd.models[0].name).toBe('sam');
    expect(rd.records.map((r) => [r.relId, r.inputs])).toEqual([['a', undefined]]);
    expect(Array.from((await rd.readMap(rd.records[0])).data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rd.progress).toBeNull();
  });

  it("its 'boxes' read as SAM prompts: detector boxes with their phrase, map regions with their peak", async () => {
    const expected = [
      { from: 'detector', box: [0, 0, 1, 1], score: 0.8, phrase: 'scratch', kept: true, area: 0.5 },
      { from: 'detector', box: [0, 0, 2, 1], score: 0.9, phrase: 'widget', kept: false, dropped: 'size', area: 1 },
      { from: 'map', box: [1, 0, 2, 1], peak: 0.25, kept: true, area: 0.5 },
    ];
    const fromRunDir = await new RunDir(runDir).readImage('widget', 'a');
    const [listed] = await listImageRecords(runDir);
    for (const rec of [fromRunDir!, listed]) {
      expect(rec.samPrompts).toEqual(expected);
      expect('boxes' in rec).toBe(false);
    }
  });

  it('reads in the report, as a run with its records', async () => {
    const [run] = await loadRuns((await discoverInputs([runDir])).runs);
    expect([run.kind, run.metrics.categories[0].pixel_ap, run.records.get('widget')?.length]).toEqual(['run', 0.75, 1]);
  });

  it('its sweep job result reads, so a resumed sweep does not compute the job again', async () => {
    const r = await readJobResult(runDir);
    expect([r?.status, r?.computed_by, r?.mean?.n_images]).toEqual(['done', undefined, 2]);
  });

  it("its sweep's results.json reads, rows without run_dir", async () => {
    const s = await readSweepResults(join(root, 'sweep', 'results.json'));
    expect(s.varied).toEqual(['references.k']);
    expect(s.rows.map((r) => [r.dataset, r.category, r.params['references.k'], r.metrics.pixel_ap, r.run_dir])).toEqual([
      ['tiny', 'widget', 2, 0.75, undefined],
      ['tiny', 'mean', 2, 0.75, undefined],
      ['mean', 'mean', 2, 0.75, undefined],
    ]);
    expect(s.rows[1].extra).toMatchObject({ n_images: 2, wall_s: 1.5, model_runs: 2, cache_hits: 0 });
  });

  it('files of another shape are refused by the same readers', async () => {
    const bad = join(root, 'bad');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'metrics.json'), JSON.stringify({ categories: [{ n_images: 2 }] }));
    await expect(readMetricsFile(join(bad, 'metrics.json'))).rejects.toThrow(/not an iapas metrics\.json \(category 1 has no name\)/);
    await writeFile(join(bad, 'sweep-result.json'), JSON.stringify({ job: 'x', status: 'finished' }));
    expect(await readJobResult(bad)).toBeUndefined();
    await writeFile(join(bad, 'results.json'), JSON.stringify([{ run_id: 'a', pixel_ap: 0.3 }]));
    await expect(readSweepResults(join(bad, 'results.json'))).rejects.toThrow(/results\.json: not an iapas sweep's results\.json/);
  });
});
