/**
 * The report as a person sees it, in a real browser: built from generated run directories (real
 * sample images from ../shared, synthetic maps, metrics.json from the evaluation protocol; one
 * run's metrics.json in the format from before curves were stored) and a sweep's results.json in
 * the flat shape `iapas sweep` writes, then opened from file:// in headless Chromium (the Debian
 * package, driven by playwright-core). Screenshots go to .artifacts/report-test/ (git-ignored).
 *
 * The page functions below run in the browser; they are written against the page's own DOM
 * without the DOM type library (the project compiles for Node), hence the loose element types.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_KEYS, type MetricKey } from '../../src/evaluation/protocol.js';
import type { EvaluationReport } from '../../src/evaluation/metrics-files.js';
import { buildReport, type ReportResult } from '../../src/report/build.js';
import { mulberry32 } from '../../src/util/random.js';
import { CHROMIUM, haveChromium, openFile, type OpenedPage } from '../support/browser.js';
import { missingShared } from '../support/shared.js';
import { sweepResultsJson } from '../support/sweep-results.js';
import { makeSyntheticRuns, SYNTH_SOURCES } from '../support/synth-runs.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../.artifacts/report-test');

/** What the page functions use of a DOM element. */
interface El {
  getAttribute(name: string): string | null;
  textContent: string | null;
  classList: { contains(c: string): boolean };
}

/** A 3 x 3 grid over two keys on two datasets with a clear optimum, as `iapas sweep` writes results.json. */
function sweepRows() {
  const rnd = mulberry32(3);
  const rows: Parameters<typeof sweepResultsJson>[0] = [];
  for (const dataset of ['mvtec_ad', 'mpdd']) {
    for (const bt of [0.1, 0.2, 0.3]) {
      for (const st of [0.6, 0.7, 0.8]) {
        const base = 0.6 - (bt - 0.2) ** 2 * 8 - (st - 0.7) ** 2 * 6 + (dataset === 'mpdd' ? 0.15 : 0);
        const run = `bt${bt}-st${st}`;
        const common = { run, 'detector.box_threshold': bt, 'detector.size_threshold': st, dataset, wall_s: 100 + 50 * rnd(), model_runs: 40, cache_hits: 12 };
        for (const category of ['a', 'b']) rows.push({ ...common, category, pixel_ap: base + 0.02 * rnd(), pixel_f1_max: base + 0.03, aupro: 0.7 + base / 3 });
        rows.push({ ...common, category: 'mean', pixel_ap: base + 0.01, pixel_f1_max: base + 0.03, aupro: 0.7 + base / 3 });
      }
    }
  }
  return sweepResultsJson(rows, ['detector.box_threshold', 'detector.size_threshold']);
}

const missing = haveChromium() ? missingShared(...SYNTH_SOURCES) : `${CHROMIUM} (apt-get install chromium)`;

describe.skipIf(missing !== undefined)(`iapas report in headless Chromium${missing ? ` [skipped: ${missing} not found]` : ''}`, () => {
  let root: string;
  let report: ReportResult;
  let opened: OpenedPage;
  let metrics: EvaluationReport[];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iapas-report-test-'));
    const synth = await makeSyntheticRuns(join(root, 'runs'), { runs: 3, categories: 3, images: 8, oldFormat: [2] });
    metrics = synth.metrics;
    mkdirSync(join(root, 'sweep'));
    await writeFile(join(root, 'sweep', 'results.json'), JSON.stringify(sweepRows()));
    report = await buildReport({
      inputs: [...synth.runDirs, join(root, 'sweep')],
      out: join(root, 'report'),
      settings: { figures: ['svg', 'png'], thumb: 128, full: 384 },
      created: '2026-01-01T00:00:00Z',
    });
    opened = await openFile(report.index);
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await opened?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('opens from file:// with no console error and no network request', async () => {
    await opened.page.evaluate('window.report.drawAllCharts()');
    await opened.page.screenshot({ path: join(ARTIFACTS, 'top.png') });
    await opened.page.screenshot({ path: join(ARTIFACTS, 'full-page.png'), fullPage: true });
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.network).toEqual([]);
    expect(report.notes).toEqual([]);
  });

  it('curves of the older metrics.json are recomputed from the maps and give its F1-max exactly', () => {
    const old = report.runs[2];
    for (const c of old.metrics.categories) {
      expect(c.curves!.f1_max_point!.f1).toBe(c.pixel_f1_max);
      expect(c.curves!.f1_max_point!.threshold).toBe(c.pixel_f1_threshold);
    }
    expect(metrics[2].categories[0].curves).toBeUndefined();
  });

  it('the table has the rows and values of the metrics.json files, best marked per group', async () => {
    const rows = (await opened.page.$$eval('#metrics-table tbody tr', (trs) =>
      trs.map((tr) => ({
        run: tr.getAttribute('data-run'),
        category: tr.getAttribute('data-category'),
        cells: Array.from<El>(tr.querySelectorAll('td[data-k]')).map((td) => ({ k: td.getAttribute('data-k'), v: td.getAttribute('data-v'), text: td.textContent, best: td.classList.contains('best') })),
      })),
    )) as Array<{ run: string; category: string; cells: Array<{ k: string; v: string | null; text: string; best: boolean }> }>;
    const expected = metrics.flatMap((m, i) => [
      ...m.categories.map((c) => ({ run: `r${i}`, category: c.category, row: c as unknown as Record<string, number | null> })),
      { run: `r${i}`, category: 'mean', row: m.mean as unknown as Record<string, number | null> },
    ]);
    expect(rows.length).toBe(expected.length);
    for (const e of expected) {
      const row = rows.find((r) => r.run === e.run && r.category === e.category);
      expect(row, `${e.run} ${e.category}`).toBeDefined();
      for (const k of METRIC_KEYS) {
        const cell = row!.cells.find((c) => c.k === k)!;
        const v = e.row[k];
        if (v === null) expect(cell.v).toBeNull();
        else {
          expect(Number(cell.v)).toBe(v);
          expect(cell.text).toBe((100 * v).toFixed(1));
        }
      }
    }
    for (const cat of new Set(expected.map((e) => e.category))) {
      for (const k of METRIC_KEYS) {
        const vals = expected.filter((e) => e.category === cat).map((e) => e.row[k]).filter((v): v is number => v !== null);
        const marked = rows.filter((r) => r.category === cat && r.cells.find((c) => c.k === k)!.best).map((r) => Number(r.cells.find((c) => c.k === k)!.v));
        expect(marked.length, `${cat} ${k}`).toBeGreaterThan(0);
        for (const m of marked) expect(m).toBe(Math.max(...vals));
      }
    }
  });

  it('a click on a column title sorts the runs within each group', async () => {
    await opened.page.click('#metrics-table thead th[data-sort="pixel_ap"]');
    const groups = (await opened.page.$$eval('#metrics-table tbody', (tbs) =>
      tbs.map((tb) => Array.from<El>(tb.querySelectorAll('td[data-k="pixel_ap"]')).map((td) => Number(td.getAttribute('data-v')))),
    )) as number[][];
    expect(groups.length).toBe(4);
    for (const g of groups) expect(g).toEqual([...g].sort((a, b) => b - a));
  });

  it('every chart is drawn, with marks of non-zero size', async () => {
    const chartState = async () =>
      (await opened.page.$$eval('.chart[data-spec]:not([hidden])', (els) =>
        els.map((el) => {
          const marks = Array.from(el.querySelectorAll('svg g.mark-line path, svg g.mark-symbol path, svg g.mark-rect path'));
          const sized = marks.filter((m) => {
            const b = (m as unknown as { getBBox(): { width: number; height: number } }).getBBox();
            return b.width > 0 && b.height > 0;
          });
          return { id: el.getAttribute('data-spec'), state: el.getAttribute('data-state'), sized: sized.length };
        }),
      )) as Array<{ id: string; state: string; sized: number }>;
    const seen = new Set<string>();
    // The sweep charts show one metric at a time.
    for (const metric of ['pixel_ap', 'pixel_f1_max', 'aupro'] as MetricKey[]) {
      await opened.page.evaluate(`window.report.showSweepMetric(${JSON.stringify(metric)})`);
      await opened.page.evaluate('window.report.drawAllCharts()');
      for (const c of await chartState()) {
        expect(c.state, c.id).toBe('drawn');
        expect(c.sized, c.id).toBeGreaterThan(0);
        seen.add(c.id);
      }
      await opened.page.locator('#sweeps').screenshot({ path: join(ARTIFACTS, `sweeps-${metric}.png`) });
    }
    // 3 categories x (PR, ROC, PRO), and per metric 2 line charts + 1 heat map.
    expect(seen.size).toBe(9 + 3 * 3);
    expect(Object.keys(report.specs).length).toBe(seen.size);
    await opened.page.locator('#curves').screenshot({ path: join(ARTIFACTS, 'curves.png') });
  });

  it('gallery: anomalous first, thumbnails drawn when scrolled to, a click shows the larger picture', async () => {
    const g = report.gallery!;
    expect(g.categories.length).toBe(3);
    const cat = g.categories[0];
    const labels = cat.images.map((i) => i.label);
    expect(labels.lastIndexOf('anomalous')).toBeLessThan(labels.includes('normal') ? labels.indexOf('normal') : Infinity);
    await opened.page.evaluate('window.scrollTo(0, 0)');
    await opened.page.evaluate('window.report.showCategory(0)');
    const states = (await opened.page.$$eval('#gallery canvas.tile', (els) => els.map((e) => e.getAttribute('data-state') ?? 'waiting'))) as string[];
    expect(states.length).toBe(cat.images.length * 4);
    // Lazy: the gallery is below the first screen, so its tiles are not drawn yet.
    expect(states.filter((s) => s === 'drawn').length).toBe(0);
    await opened.page.locator('#gallery-section').scrollIntoViewIfNeeded();
    await opened.page.waitForFunction(`Array.from(document.querySelectorAll('#gallery canvas.tile')).filter((c) => {
      const b = c.getBoundingClientRect();
      return b.top < innerHeight && b.bottom > 0;
    }).every((c) => c.dataset.state === 'drawn')`);
    await opened.page.screenshot({ path: join(ARTIFACTS, 'gallery.png') });
    // A run's tile is the image with a heat map and outlines over it: not a flat picture.
    const stats = await sharp(await opened.page.locator('#gallery canvas.tile').nth(1).screenshot()).stats();
    expect(Math.max(...stats.channels.map((c) => c.stdev))).toBeGreaterThan(10);
    await opened.page.locator('#gallery canvas.tile').nth(1).click();
    await opened.page.waitForFunction(`document.getElementById('viewer').open && document.getElementById('viewer-canvas').dataset.state === 'drawn'`);
    const shown = (await opened.page.$eval('#viewer-canvas', (c) => ({ w: Number(c.getAttribute('width')), h: Number(c.getAttribute('height')), base: Number(c.getAttribute('data-base-width')), run: c.getAttribute('data-run') }))) as {
      w: number;
      h: number;
      base: number;
      run: string;
    };
    expect(Math.max(shown.w, shown.h)).toBe(384);
    expect(shown.base).toBe(shown.w); // the larger picture, not the thumbnail, was drawn
    expect(shown.run).toBe('r0');
    await opened.page.screenshot({ path: join(ARTIFACTS, 'viewer.png') });
    await opened.page.keyboard.press('Escape');
    expect(await opened.page.$eval('#viewer', (v) => v.hasAttribute('open'))).toBe(false);
    for (const im of cat.images) for (const f of [im.thumb, im.full]) expect(statSync(join(root, 'report', f)).size).toBeGreaterThan(100);
    expect(opened.consoleErrors).toEqual([]);
    expect(opened.network).toEqual([]);
  });

  it('provenance: the differing config keys, short model hashes and the recorded command per run', async () => {
    const heads = (await opened.page.$$eval('table.prov th code', (els) => els.map((e) => e.textContent))) as string[];
    expect(heads).toEqual(['references.k']);
    const cmds = (await opened.page.$$eval('pre.cmd', (els) => els.map((e) => e.textContent ?? ''))) as string[];
    expect(cmds.length).toBe(3);
    expect(cmds[1]).toBe(`cd ${join(root, 'runs')} && iapas run --preset fewshot-cnn --dataset datasets/synthetic --set references.k=4 --set fewshot.threshold=fixed:0.2 --limit 8`);
    const shas = (await opened.page.$$eval('table.prov code[title]', (els) => els.map((e) => e.textContent ?? ''))) as string[];
    expect(shas).toContain('18348d144bd3');
    await opened.page.locator('#provenance').screenshot({ path: join(ARTIFACTS, 'provenance.png') });
  });

  it('writes paper figures as SVG and PNG from the same specs', () => {
    const svg = report.figures.filter((f) => f.endsWith('.svg'));
    const png = report.figures.filter((f) => f.endsWith('.png'));
    expect(svg.length).toBe(18);
    expect(png.length).toBe(18);
    expect(readFileSync(svg[0], 'utf8')).toMatch(/<text[^>]*>/);
    for (const p of png) expect(statSync(p).size).toBeGreaterThan(5000);
  });
});
