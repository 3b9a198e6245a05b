/**
 * `iapas report`: reads runs, sweep folders and `iapas evaluate` outputs, and writes into `out`:
 *
 *   index.html             the page: table, curves, sweeps, gallery, provenance (data inlined)
 *   vendor/*.min.js        vega, vega-lite, vega-embed (loaded by the page, from file://)
 *   g/<c>/...              the gallery's pictures and maps (gallery-files.ts)
 *   figures/<name>.svg|png paper figures, on request (the same specs at paper size)
 */
import { seenDataNote } from '../models/sam/seen-data.js';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPORT_DEFAULTS, type ReportSettings } from '../config/schema.js';
import { METRIC_KEYS, type MetricKey } from '../evaluation/protocol.js';
import { UserError } from '../util/errors.js';
import { PAGE_SIZE, PAPER_SIZE, runColours, type Spec } from './chart-style.js';
import { CURVE_KINDS, curveSpec, type RunCurves } from './curve-specs.js';
import { checkFigureFonts, writeFigures } from './figures.js';
import { type GalleryData, writeGallery } from './gallery-files.js';
import { discoverInputs, loadRuns, progressLabel, progressNote } from './inputs.js';
import { renderPage, type PageModel } from './page.js';
import { provenance } from './provenance.js';
import { recomputeCategory } from './recompute.js';
import { sweepFromRuns } from './sweep-from-runs.js';
import type { SweepResults } from './sweep-results.js';
import { sweepSpecs } from './sweep-specs.js';
import { categorySetsDiffer, metricsTable } from './metrics-table.js';
import type { LoadedRun } from './types.js';
import { vendorFiles } from './vendor.js';

export interface ReportRequest {
  inputs: string[];
  out: string;
  labels?: string[];
  metrics?: readonly MetricKey[];
  /** Over REPORT_DEFAULTS (src/config/schema.ts). */
  settings?: Partial<ReportSettings>;
  /** false: no gallery. */
  gallery?: boolean;
  /** Treat the runs as one sweep when no results.json is given (varied keys = the differing config keys). */
  sweep?: boolean;
  /** Fixed creation time (tests, reproducible pages). */
  created?: string;
  log?: (msg: string) => void;
}

export interface ReportResult {
  index: string;
  runs: LoadedRun[];
  sweeps: SweepResults[];
  specs: Record<string, Spec>;
  gallery: GalleryData | null;
  figures: string[];
  notes: string[];
}

/** Marks a page this command wrote, so that rewriting it may clear its own folders. */
const GENERATOR = '<meta name="generator" content="iapas report">';

/** `out` must be empty, new, or an earlier report (whose generated folders are then cleared). */
async function prepareOut(out: string): Promise<void> {
  const entries = await readdir(out).catch(() => null);
  if (!entries || entries.length === 0) return mkdir(out, { recursive: true }).then(() => undefined);
  const html = await readFile(join(out, 'index.html'), 'utf8').catch(() => '');
  if (!html.includes(GENERATOR)) throw new UserError(`${out} is not empty and holds no earlier report; choose an empty or new --out folder`);
  for (const d of ['g', 'vendor', 'figures']) await rm(join(out, d), { recursive: true, force: true });
}

/** Curves for categories whose metrics.json predates them, from the run directory; notes where the maps disagree with metrics.json. */
async function fillMissingCurves(runs: LoadedRun[], notes: string[], log: (m: string) => void): Promise<void> {
  for (const run of runs) {
    for (const c of run.metrics.categories) {
      if (c.curves) continue;
      const recs = run.records.get(c.category);
      if (!recs?.length) continue;
      const t0 = Date.now();
      const r = await recomputeCategory(run.dir, c.category, recs, run.metrics.options);
      c.curves = r.curves;
      c.map_range ??= r.map_range;
      for (const k of ['pixel_auroc', 'pixel_ap', 'pixel_f1_max', 'aupro'] as const) {
        const [a, b] = [c[k], r[k]];
        if (a !== null && b !== null && Math.abs(a - b) > 1e-9) {
          notes.push(`${run.label} / ${c.category}: its maps give ${k} ${b.toFixed(6)} where metrics.json says ${a.toFixed(6)} (maps changed after the evaluation?); the curves are the maps'`);
        }
      }
      log(`  curves of ${run.label} / ${c.category} recomputed from ${r.n_images} maps (${((Date.now() - t0) / 1000).toFixed(1)} s): its metrics.json predates stored curves`);
    }
  }
}

export async function buildReport(req: ReportRequest): Promise<ReportResult> {
  const log = req.log ?? (() => {});
  const s: ReportSettings = { ...REPORT_DEFAULTS, ...req.settings };
  const metrics = req.metrics ?? METRIC_KEYS;
  const notes: string[] = [];
  const found = await discoverInputs(req.inputs);
  const runs = await loadRuns(found.runs, req.labels);
  for (const r of runs) if (r.progress) notes.push(progressNote(r.label, r.progress));
  for (const r of runs) if (r.metrics.seen_data) notes.push(seenDataNote(r.label, r.metrics.seen_data));
  const sweeps = [...found.sweeps];
  if (req.sweep && !sweeps.length) {
    const sw = sweepFromRuns(runs);
    if (sw.varied.length) sweeps.push(sw);
    else notes.push('--sweep: the runs have the same configuration, so there is no sweep to chart');
  }
  if (!runs.length && !sweeps.length) throw new UserError('nothing to report: no metrics.json and no results.json among the inputs');
  log(`report: ${runs.length} run(s), ${sweeps.length} sweep(s)`);
  await prepareOut(req.out);
  if (s.recompute) await fillMissingCurves(runs, notes, log);

  const colours = runColours(runs.map((r) => r.label));
  const specs: Record<string, Spec> = {};
  const paper: Array<{ name: string; spec: Spec }> = [];
  const curves: PageModel['curves'] = [];
  const datasets = new Set(runs.map((r) => r.metrics.dataset.name));
  const groups: Array<{ dataset: string; category: string }> = [];
  for (const r of runs) {
    for (const c of r.metrics.categories) {
      if (!groups.some((g) => g.dataset === r.metrics.dataset.name && g.category === c.category)) groups.push({ dataset: r.metrics.dataset.name, category: c.category });
    }
  }
  for (const [gi, g] of groups.entries()) {
    const withCurves: RunCurves[] = runs.flatMap((r) => {
      if (r.metrics.dataset.name !== g.dataset) return [];
      const c = r.metrics.categories.find((x) => x.category === g.category);
      return c?.curves ? [{ label: r.label, curves: c.curves }] : [];
    });
    if (!withCurves.length) continue;
    const title = datasets.size > 1 ? `${g.dataset} / ${g.category}` : g.category;
    const ids: string[] = [];
    for (const kind of CURVE_KINDS) {
      if (kind === 'pro' && !withCurves.some((x) => x.curves.pro)) continue;
      const id = `c${gi}-${kind}`;
      specs[id] = curveSpec(kind, title, withCurves, colours, PAGE_SIZE, s.chart_points);
      paper.push({ name: `${datasets.size > 1 ? `${g.dataset}-` : ''}${g.category}-${kind}`, spec: curveSpec(kind, title, withCurves, colours, PAPER_SIZE, s.chart_points) });
      ids.push(id);
    }
    curves.push({ category: title, charts: ids });
  }
  const sweepCharts: PageModel['sweeps'] = [];
  for (const [si, sw] of sweeps.entries()) {
    const charts = sweepSpecs(sw, metrics, PAGE_SIZE).map((x, k) => {
      const id = `s${si}-${k}`;
      specs[id] = x.spec;
      return { id, metric: x.metric };
    });
    sweepCharts.push({ source: sw.source, varied: sw.varied, charts });
    paper.push(...sweepSpecs(sw, metrics, PAPER_SIZE).map((x) => ({ name: sweeps.length > 1 ? `${si}-${x.name}` : x.name, spec: x.spec })));
  }

  let gallery: GalleryData | null = null;
  if (req.gallery !== false && runs.some((r) => r.records.size > 0)) {
    const t0 = Date.now();
    gallery = await writeGallery(runs, req.out, {
      ...s,
      onProgress: (d, t) => {
        if (d % 100 === 0 || d === t) log(`  gallery: ${d}/${t} images`);
      },
    });
    log(`  gallery written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    for (const c of gallery.categories) {
      const fromMaps = Object.values(c.runs).filter((v) => v.rangeFrom === 'maps').length;
      if (fromMaps) notes.push(`gallery ${c.name}: ${fromMaps} run(s) drawn on the range of their native-size maps (their metrics.json has no map_range)`);
    }
  }

  if (s.figures.includes('png')) {
    const warning = await checkFigureFonts();
    if (warning) notes.push(warning);
  }
  const vendor = vendorFiles();
  await mkdir(join(req.out, 'vendor'), { recursive: true });
  for (const v of vendor) await copyFile(v.from, join(req.out, v.to));
  const [css, script] = await Promise.all([readFile(new URL('./assets/report.css', import.meta.url), 'utf8'), readFile(new URL('./assets/report.js', import.meta.url), 'utf8')]);
  const html = renderPage({
    title: s.title,
    created: req.created ?? new Date().toISOString(),
    runs: runs.map((r, i) => ({ id: r.id, label: r.label, colour: colours.range[i], incomplete: r.progress ? progressLabel(r.progress) : undefined })),
    metrics,
    table: metricsTable(runs, metrics),
    tableNote: categorySetsDiffer(runs) ? 'The runs of a dataset cover different categories: their mean rows average different sets.' : undefined,
    curves,
    sweeps: sweepCharts,
    specs,
    gallery,
    provenance: provenance(runs),
    notes,
    css,
    script,
    vendor: vendor.map((v) => v.to),
  }).replace('<meta charset="utf-8">', `<meta charset="utf-8">\n${GENERATOR}`);
  const index = join(req.out, 'index.html');
  await writeFile(index, html);

  let figures: string[] = [];
  if (s.figures.length) {
    const t0 = Date.now();
    figures = await writeFigures(paper, join(req.out, 'figures'), s.figures, s.dpi);
    log(`  ${figures.length} figure file(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { index, runs, sweeps, specs, gallery, figures, notes };
}
