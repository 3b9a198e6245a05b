import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationReport } from '../../src/evaluation/metrics-files.js';
import { CURVE_KINDS, curveSpec, ROC_MIN_FPR } from '../../src/report/curve-specs.js';
import { runColours } from '../../src/report/chart-style.js';
import { discoverInputs, loadRuns, uniqueLabels } from '../../src/report/inputs.js';
import { differingKeys, provenance, reproduceCommand } from '../../src/report/provenance.js';
import { flattenConfig } from '../../src/util/flatten.js';
import { sweepFromRuns } from '../../src/report/sweep-from-runs.js';
import { sweepResultsOf } from '../../src/report/sweep-results.js';
import { parseSweepResultsFile } from '../../src/run-directory/sweep-results-file.js';
import { sweepHeatmapSpec, sweepLineSpec, sweepPoints, sweepSpecs } from '../../src/report/sweep-specs.js';
import { categorySetsDiffer, metricsTable } from '../../src/report/metrics-table.js';
import type { LoadedRun } from '../../src/report/types.js';
import { runCli } from '../support/cli.js';
import { sweepResultsJson } from '../support/sweep-results.js';

function metrics(dataset: string, rows: Array<[string, number]>): EvaluationReport {
  const cat = (category: string, ap: number) => ({ category, n_images: 3, n_anomalous: 2, n_normal: 1, n_regions: 2, pixel_auroc: 0.9, pixel_ap: ap, pixel_f1_max: 0.5, aupro: 0.8, image_auroc: 1, image_ap: 1, image_f1_max: 1, pixel_f1_threshold: 0.4, image_f1_threshold: 0.5, notes: [] });
  const mean = rows.reduce((a, [, v]) => a + v, 0) / rows.length;
  return {
    tool: 'iapas evaluate',
    dataset: { root: `/data/${dataset}`, layout: 'mvtec', name: dataset },
    maps: null,
    options: { resolution: 400, normalize: true, normal_images: 'include', normal_images_resolved: 'include', aupro: 'grid', fpr_limit: 0.3, image_score: 'max', map_resize: 'bicubic (OpenCV INTER_CUBIC)', mask_resize: 'nearest (OpenCV INTER_NEAREST)' },
    categories: rows.map(([c, v]) => cat(c, v)),
    mean: { pixel_auroc: 0.9, pixel_ap: mean, pixel_f1_max: 0.5, aupro: 0.8, image_auroc: 1, image_ap: 1, image_f1_max: 1, n_categories: {} as never, n_images: 3 * rows.length },
    problems: { missing_maps: [], extra_maps: [], size_mismatch: [], dataset: [] },
  } as unknown as EvaluationReport;
}

function run(id: number, config: Record<string, unknown> | null, pixelAp: number, dataset = 'mvtec_ad'): LoadedRun {
  return { id: `r${id}`, label: `run${id}`, dir: `/runs/run${id}`, kind: config ? 'run' : 'evaluation', metrics: metrics(dataset, [['grid', pixelAp]]), metricsPath: '', config, models: null, command: null, records: new Map(), progress: null };
}

describe('sweep results (results.json)', () => {
  it("reads the writer's rows: varied keys are parameters, metrics by name, the other columns extra", () => {
    const s = sweepResultsOf(
      sweepResultsJson(
        [
          { run: 'a', 'detector.box_threshold': 0.1, dataset: 'd', category: 'mean', n_images: 4, pixel_ap: 0.4, wall_s: 12, model_runs: 3, cache_hits: 0, error: null, run_dir: 'runs/a/d' },
          { run: 'b', 'detector.box_threshold': 0.2, dataset: 'd', category: 'mean', n_images: 4, pixel_ap: 0.5, wall_s: 10, model_runs: 0, cache_hits: 3, error: null, run_dir: 'runs/b/d' },
          { run: 'b', 'detector.box_threshold': 0.2, dataset: 'd', category: 'grid', n_images: 2, pixel_ap: 0.45, wall_s: null, model_runs: null, cache_hits: null, error: null, run_dir: 'runs/b/d' },
        ],
        ['detector.box_threshold'],
      ),
      'results.json',
    );
    expect(s.varied).toEqual(['detector.box_threshold']);
    expect(s.rows[1]).toMatchObject({ run: 'b', category: 'mean', params: { 'detector.box_threshold': 0.2 }, metrics: { pixel_ap: 0.5 }, extra: { n_images: 4, wall_s: 10, model_runs: 0, cache_hits: 3, error: null }, run_dir: 'runs/b/d' });
    expect(s.rows[2].category).toBe('grid');
  });

  it('says what is wrong with a file that is not a sweep\'s results in one line', () => {
    expect(() => parseSweepResultsFile({ runs: [] }, 'r.json')).toThrow(/^r\.json: not an iapas sweep's results\.json \(tool: /);
    expect(() => parseSweepResultsFile([{ run_id: 'a', pixel_ap: 0.3 }], 'r.json')).toThrow(/^r\.json: not an iapas sweep's results\.json/);
    const file = sweepResultsJson([{ run: 'a', dataset: 'd', category: 'mean', pixel_ap: 'high' }], []);
    expect(() => sweepResultsOf(file, 'r.json')).toThrow(/r\.json: row 1, pixel_ap: expected a metric value/);
    const { rows, ...noRows } = file;
    expect(rows).toHaveLength(1);
    expect(() => parseSweepResultsFile(noRows, 'r.json')).toThrow(/\(rows: Required\)/);
  });

  it('one point per (run, dataset): the mean row, else the mean of the category rows', () => {
    const s = sweepResultsOf(
      sweepResultsJson(
        [
          { run: 'a', dataset: 'd', category: 'x', 'references.k': 2, pixel_ap: 0.2 },
          { run: 'a', dataset: 'd', category: 'y', 'references.k': 2, pixel_ap: 0.4 },
          { run: 'b', dataset: 'd', category: 'mean', 'references.k': 4, pixel_ap: 0.9 },
          { run: 'b', dataset: 'd', category: 'x', 'references.k': 4, pixel_ap: 0.1 },
        ],
        ['references.k'],
      ),
      's',
    );
    const pts = sweepPoints(s, 'pixel_ap');
    expect(pts.map((p) => [p.run, Number(p.value.toFixed(6))])).toEqual([
      ['a', 0.3],
      ['b', 0.9],
    ]);
  });
});

describe('sweep charts', () => {
  it('derive a sweep from run configs; the line chart rings the best point, the heat map outlines the best cell', () => {
    const runs = [1, 2, 3].map((k) => run(k, { preset: 'fewshot', references: { k }, fewshot: { threshold: 'adaptive' }, concurrency: k }, 0.1 * k));
    const s = sweepFromRuns(runs);
    expect(s.varied).toEqual(['references.k']); // concurrency changes no result
    expect(s.rows.filter((r) => r.category === 'mean').map((r) => r.params['references.k'])).toEqual([1, 2, 3]);
    const line = sweepLineSpec(s, 'pixel_ap', 'references.k') as { layer: Array<{ data: { values: Array<{ x: number; y: number }> } }> };
    expect(line.layer[1].data.values).toEqual([expect.objectContaining({ x: 3, y: 0.30000000000000004 })]);
    const grid = sweepResultsOf(
      sweepResultsJson(
        [
          { run: 'p', dataset: 'd', category: 'mean', 'references.k': 1, seed: 1, pixel_ap: 0.3 },
          { run: 'q', dataset: 'd', category: 'mean', 'references.k': 2, seed: 1, pixel_ap: 0.5 },
          { run: 'r', dataset: 'd', category: 'mean', 'references.k': 2, seed: 2, pixel_ap: 0.4 },
        ],
        ['references.k', 'seed'],
      ),
      's',
    );
    const hm = sweepHeatmapSpec(grid, 'pixel_ap', 'references.k', 'seed') as { data: { values: Array<{ v: number }> }; facet: unknown };
    expect(hm.facet).toBeDefined();
    expect(hm.data.values.map((v) => v.v).sort()).toEqual([0.3, 0.4, 0.5]);
    // Per metric with values: a line per key and a heat map per pair.
    expect(sweepSpecs(grid, ['pixel_ap', 'aupro']).map((x) => x.name)).toEqual(['sweep-pixel_ap-references.k', 'sweep-pixel_ap-seed', 'sweep-pixel_ap-references.k-x-seed']);
  });

  it('a constant series still gets a y range (a domain of one value draws no axis)', () => {
    const s = sweepResultsOf(sweepResultsJson([1, 2].map((k) => ({ run: `k${k}`, dataset: 'd', category: 'mean', 'references.k': k, image_auroc: 1 })), ['references.k']), 's');
    const spec = sweepLineSpec(s, 'image_auroc', 'references.k') as { layer: Array<{ encoding: { y: { scale: { domain?: number[] } } } }> };
    expect(spec.layer[0].encoding.y.scale.domain).toEqual([0.95, 1.05]);
  });
});

describe('curve charts', () => {
  const curves = {
    n_thresholds: 4,
    max_points: 512,
    pr: { recall: [0.1, 0.5, 1], precision: [1, 0.8, 0.1], threshold: [0.9, 0.5, 0] },
    roc: { fpr: [0, 0.01, 1], tpr: [0.1, 0.5, 1], threshold: [0.9, 0.5, 0] },
    pro: { definition: 'grid' as const, fpr_limit: 0.3, fpr: [0, 0.1, 0.3], pro: [0, 0.6, 0.9], threshold: [1, 0.5, 0.1] },
    f1_max_point: { threshold: 0.5, precision: 0.8, recall: 0.5, f1: 0.615, fpr: 0.01, tp: 5, fp: 1, index_pr: 1, index_roc: 1 },
  };
  it('mark the F1-max point, keep the PRO axis at the limit, and draw the ROC on a log FPR axis', () => {
    const colours = runColours(['a']);
    const specs = Object.fromEntries(CURVE_KINDS.map((k) => [k, curveSpec(k, 'grid', [{ label: 'a', curves }], colours)])) as Record<string, { layer: Array<{ data: { values: Array<Record<string, unknown>> }; encoding: { x: { scale: Record<string, unknown> } } }> }>;
    expect(specs.pr.layer[1].data.values).toEqual([expect.objectContaining({ run: 'a', x: 0.5, y: 0.8 })]);
    expect(specs.roc.layer[0].encoding.x.scale).toMatchObject({ type: 'log', domain: [ROC_MIN_FPR, 1] });
    expect(specs.roc.layer[0].data.values[0].x).toEqual([ROC_MIN_FPR, 0.01, 1]); // FPR 0 drawn at the axis' start
    expect(specs.pro.layer[0].encoding.x.scale.domain).toEqual([0, 0.3]);
    expect(specs.pro.layer.length).toBe(1); // no F1 dot on the PRO curve
  });
});

describe('table and provenance', () => {
  it('groups per category with mean rows, marks the best; per dataset when the runs span several', () => {
    const t = metricsTable([run(1, null, 0.2), run(2, null, 0.4)], ['pixel_ap', 'image_auroc']);
    expect(t.map((g) => g.name)).toEqual(['grid', 'mean']);
    expect(t[0].rows.map((r) => r.best)).toEqual([['image_auroc'], ['pixel_ap', 'image_auroc']]); // ties are all best
    const two = metricsTable([run(1, null, 0.2), run(2, null, 0.4, 'mpdd')], ['pixel_ap']);
    expect(two.map((g) => g.name)).toEqual(['mvtec_ad / grid', 'mvtec_ad / mean', 'mpdd / grid', 'mpdd / mean']);
    expect(two[0].rows[0].best).toEqual([]); // a group of one marks nothing
    const other = run(3, null, 0.1);
    other.metrics = metrics('mvtec_ad', [['grid', 0.1], ['screw', 0.2]]);
    expect(categorySetsDiffer([run(1, null, 0.2), other])).toBe(true);
    expect(categorySetsDiffer([run(1, null, 0.2), run(2, null, 0.3, 'mpdd')])).toBe(false);
  });

  it('lists the keys that differ (not where things are), and a command per run', () => {
    const a = flattenConfig({ preset: 'fewshot', seed: 111, fewshot: { threshold: 'fixed:0.3' }, concurrency: 2 }, { json: true });
    const b = flattenConfig({ preset: 'fewshot', seed: 7, fewshot: { threshold: 'fixed:0.3' } }, { json: true });
    expect(differingKeys([a, b, null])).toEqual(['concurrency', 'seed']);
    const runs = [run(1, { preset: 'fewshot', seed: 111, fewshot: { threshold: 'fixed:0.3' }, concurrency: 2 }, 0.3), run(2, { preset: 'fewshot-cnn', seed: 7, fewshot: { threshold: 'fixed:0.3' } }, 0.3)];
    const p = provenance(runs);
    expect(p.differingKeys).toEqual(['seed']);
    expect(p.runs[1].differing).toEqual({ seed: '7' });
    expect(p.runs[0].commandSource).toBe('rebuilt');
    expect(reproduceCommand(runs[0])).toBe('iapas run --preset fewshot --dataset /data/mvtec_ad --categories grid --set seed=111 --set fewshot.threshold=fixed:0.3');
    expect(reproduceCommand(run(2, null, 0.3))).toMatch(/^iapas evaluate --dataset \/data\/mvtec_ad --maps '<maps>' --categories grid --resolution 400/);
    const recorded = { ...run(3, {}, 0.3), command: { argv: ['run', '--preset', 'fewshot', '--limit', '8', '--resume', '--set', 'caption.static=defect, abnormal'], cwd: '/home/me/work' } };
    expect(reproduceCommand(recorded)).toBe("cd /home/me/work && iapas run --preset fewshot --limit 8 --set 'caption.static=defect, abnormal'");
  });

  it('labels runs by folder name, with the parent where names collide', () => {
    expect(uniqueLabels(['/a/sam', '/b/sam', '/c/cnn'])).toEqual(['a/sam', 'b/sam', 'cnn']);
    expect(uniqueLabels(['/a/sam', '/a/sam'])).toEqual(['sam#1', 'sam#2']);
  });
});

describe('finding the inputs', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iapas-report-inputs-'));
    for (const d of ['sweep/runs/a', 'sweep/runs/b', 'eval-out', 'parent/x', 'parent/y', 'empty']) await mkdir(join(root, d), { recursive: true });
    for (const d of ['sweep/runs/a', 'sweep/runs/b', 'eval-out', 'parent/x', 'parent/y']) await writeFile(join(root, d, 'metrics.json'), JSON.stringify(metrics('mvtec_ad', [['grid', 0.3]])));
    await writeFile(join(root, 'sweep/results.json'), JSON.stringify(sweepResultsJson([{ run: 'a', dataset: 'd', category: 'mean', seed: 1, pixel_ap: 0.3 }], ['seed'])));
    await writeFile(join(root, 'parent/y/metrics.json'), '{"categories": 3}');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a sweep folder gives its results and the runs inside it; a plain folder its runs', async () => {
    const f = await discoverInputs([join(root, 'sweep'), join(root, 'eval-out')]);
    expect(f.sweeps.length).toBe(1);
    expect(f.runs.map((r) => r.dir)).toEqual([join(root, 'sweep/runs/a'), join(root, 'sweep/runs/b'), join(root, 'eval-out')]);
    const runs = await loadRuns(f.runs);
    expect(runs.map((r) => [r.label, r.kind])).toEqual([
      ['a', 'evaluation'],
      ['b', 'evaluation'],
      ['eval-out', 'evaluation'],
    ]);
  });

  it('bad inputs are one clear line each', async () => {
    await expect(discoverInputs([join(root, 'nope')])).rejects.toThrow(/report input .*nope does not exist/);
    await expect(discoverInputs([join(root, 'empty')])).rejects.toThrow(/no metrics\.json in it or in its sub-folders, and no results\.json/);
    await expect(loadRuns((await discoverInputs([join(root, 'parent')])).runs)).rejects.toThrow(/parent\/y\/metrics\.json: not an iapas metrics\.json \(no categories list\)/);
    await expect(loadRuns((await discoverInputs([join(root, 'eval-out')])).runs, ['a', 'b'])).rejects.toThrow(/--labels names 2 run\(s\), the inputs hold 1/);
  });

  it('iapas report: bad flags and inputs end with one line, exit code 1', async () => {
    const figures = await runCli(['report', join(root, 'eval-out'), '--out', join(root, 'r1'), '--figures', 'svg,pdf']);
    expect(figures.code).toBe(1);
    expect(figures.stderr.trim().split('\n')).toHaveLength(1);
    expect(figures.stderr).toMatch(/--figures/);
    const metric = await runCli(['report', join(root, 'eval-out'), '--out', join(root, 'r2'), '--metrics', 'pixel_ap,iou']);
    expect(metric.stderr.trim()).toMatch(/^iapas: unknown metric iou/);
    const notEmpty = await runCli(['report', join(root, 'eval-out'), '--out', join(root, 'sweep')]);
    expect(notEmpty.stderr.trim()).toMatch(/sweep is not empty and holds no earlier report/);
  });

  it('iapas report on an evaluate output writes a page with its table and no gallery', async () => {
    const r = await runCli(['report', join(root, 'eval-out'), '--out', join(root, 'page'), '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const html = await import('node:fs/promises').then((fs) => fs.readFile(join(root, 'page', 'index.html'), 'utf8'));
    expect(html).toContain('data-v="0.3"');
    expect(html).toContain('No gallery');
    // A second report into the same folder replaces the first.
    expect((await runCli(['report', join(root, 'eval-out'), '--out', join(root, 'page'), '--quiet'])).code).toBe(0);
  });
});
