/**
 * The report page, pure: the report's model in, one self-contained index.html out. Styles, the
 * page script and all data are inlined; the chart libraries load from vendor/ beside the page (a
 * relative <script src>, which file:// allows) when the first chart scrolls into view, and the
 * gallery's pictures and maps from g/ when shown. The table is rendered here, so its numbers read
 * without JavaScript; charts and gallery tiles are drawn by the page script (assets/report.js).
 */
import { type MetricKey } from '../evaluation/protocol.js';
import type { Spec } from './chart-style.js';
import type { GalleryData } from './gallery-files.js';
import type { RunProvenance } from './provenance.js';
import type { TableGroup } from './metrics-table.js';
import { METRIC_LABELS } from '../evaluation/protocol.js';

export interface PageModel {
  title: string;
  created: string;
  runs: Array<{ id: string; label: string; colour: string; incomplete?: string }>;
  metrics: readonly MetricKey[];
  table: TableGroup[];
  tableNote?: string;
  /** Curve charts per category: spec ids. */
  curves: Array<{ category: string; charts: string[] }>;
  /** Sweep charts: spec id and metric, per sweep. */
  sweeps: Array<{ source: string; varied: string[]; charts: Array<{ id: string; metric: MetricKey }> }>;
  specs: Record<string, Spec>;
  gallery: GalleryData | null;
  provenance: { differingKeys: string[]; runs: RunProvenance[] };
  notes: string[];
  css: string;
  script: string;
  /** Relative paths of the chart libraries, in load order. */
  vendor: string[];
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside <script type="application/json">. */
export function inlineJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Percent with one decimal, as papers print metrics; '–' for an undefined metric. */
export const pct = (v: number | null): string => (v === null ? '–' : (100 * v).toFixed(1));

const swatch = (colour: string) => `<i class="sw" style="background:${colour}"></i>`;

function tableHtml(m: PageModel): string {
  const colour = (id: string) => m.runs.find((x) => x.id === id)?.colour ?? '#888';
  const head = `<thead><tr><th data-sort="category">category</th><th data-sort="run">run</th><th data-sort="n" class="num">images</th>${m.metrics
    .map((k) => `<th data-sort="${k}" class="num" title="${k}">${esc(METRIC_LABELS[k])}</th>`)
    .join('')}</tr></thead>`;
  const bodies = m.table
    .map((g) => {
      const rows = g.rows
        .map((r, i) => {
          const cells = m.metrics
            .map((k) => {
              const v = r.values[k];
              const best = r.best.includes(k);
              return `<td class="num${best ? ' best' : ''}" data-k="${k}"${v === null ? '' : ` data-v="${v}"`} title="${v === null ? 'undefined' : v}">${pct(v)}</td>`;
            })
            .join('');
          return `<tr data-run="${esc(r.run)}" data-category="${esc(g.category)}" data-dataset="${esc(g.dataset)}"><th scope="row">${i === 0 ? esc(g.name) : ''}</th><td class="run">${swatch(colour(r.run))}${esc(r.label)}</td><td class="num" data-k="n"${r.n_images === null ? '' : ` data-v="${r.n_images}"`}>${r.n_images ?? '–'}</td>${cells}</tr>`;
        })
        .join('');
      return `<tbody class="${g.isMean ? 'mean' : ''}" data-category="${esc(g.category)}">${rows}</tbody>`;
    })
    .join('');
  return `<table id="metrics-table" class="metrics">${head}${bodies}</table>`;
}

const chartDiv = (id: string, attrs = '') => `<div class="chart" data-spec="${esc(id)}"${attrs}><div class="chart-placeholder">drawing ${esc(id)}</div></div>`;

function curvesHtml(m: PageModel): string {
  if (!m.curves.length) return '<p class="muted">No curves: the metrics.json files have no <code>curves</code>, and no run directory to recompute them from.</p>';
  return m.curves.map((c) => `<h3>${esc(c.category)}</h3><div class="chart-row" data-category="${esc(c.category)}">${c.charts.map((id) => chartDiv(id)).join('')}</div>`).join('');
}

function sweepsHtml(m: PageModel): string {
  const metrics = [...new Set(m.sweeps.flatMap((s) => s.charts.map((c) => c.metric)))];
  const first = metrics.includes('pixel_ap') ? 'pixel_ap' : metrics[0];
  const select = `<label>metric <select id="sweep-metric">${metrics.map((k) => `<option value="${k}"${k === first ? ' selected' : ''}>${esc(METRIC_LABELS[k])}</option>`).join('')}</select></label>`;
  const blocks = m.sweeps
    .map(
      (s) =>
        `<p class="muted">${esc(s.source)}: varied ${s.varied.map((k) => `<code>${esc(k)}</code>`).join(', ') || '(nothing)'}</p><div class="chart-row">${s.charts
          .map((c) => chartDiv(c.id, ` data-metric="${c.metric}"${c.metric === first ? '' : ' hidden'}`))
          .join('')}</div>`,
    )
    .join('');
  return `<div class="controls">${select}</div>${blocks}`;
}

function galleryHtml(m: PageModel): string {
  const g = m.gallery;
  if (!g) return '<p class="muted">No gallery: no run directory with image records among the inputs.</p>';
  const S = g.style;
  const rgb = (c: number[]) => `rgb(${c.join(',')})`;
  return `<div class="controls"><label>category <select id="gallery-category">${g.categories
    .map((c, i) => `<option value="${i}">${esc(c.name)} (${c.images.length})</option>`)
    .join('')}</select></label>
<label><input type="checkbox" id="gallery-anomalous"> anomalous only</label>
<span class="heat-legend"><span>0</span><i class="ramp"></i><span>1</span> map on its category's evaluation scale</span>
<span class="key"><i class="ln" style="background:${rgb(S.groundTruth)}"></i>ground truth</span><span class="key"><i class="ln" style="background:${rgb(S.prediction)}"></i>mask at the run's F1-max threshold</span><span class="key"><i class="ln" style="background:${rgb(S.prompt)}"></i>prompts</span></div>
<div id="gallery" class="gallery"></div>`;
}

function provenanceHtml(m: PageModel): string {
  const p = m.provenance;
  const keys = p.differingKeys;
  const colour = (id: string) => m.runs.find((x) => x.id === id)?.colour ?? '#888';
  const head = `<tr><th>run</th><th>kind</th><th>dataset</th><th>preset</th>${keys.map((k) => `<th><code>${esc(k)}</code></th>`).join('')}<th>models (sha256, 12 hex)</th></tr>`;
  const rows = p.runs
    .map((r) => {
      const models = r.models.map((x) => `${esc(x.name)}: ${x.files.map((f) => `<code title="${esc(f.file)}">${esc(f.sha)}</code>`).join(' ')}`).join('<br>') || '–';
      return `<tr data-run="${esc(r.id)}"><td class="run">${swatch(colour(r.id))}${esc(r.label)}</td><td>${esc(r.kind)}${r.incomplete ? ` <strong class="incomplete">${esc(r.incomplete)}</strong>` : ''}</td><td title="${esc(r.datasetRoot)}">${esc(r.dataset)}</td><td>${esc(r.preset ?? '–')}</td>${keys
        .map((k) => `<td><code>${esc(r.differing[k])}</code></td>`)
        .join('')}<td>${models}</td></tr>`;
    })
    .join('');
  const cmds = p.runs
    .map(
      (r) =>
        `<details data-run="${esc(r.id)}"${p.runs.length <= 6 ? ' open' : ''}><summary>${swatch(colour(r.id))}${esc(r.label)} <span class="muted">${esc(r.protocol)}; ${esc(r.dir)}</span></summary><p class="muted">${
          r.commandSource === 'recorded'
            ? 'as recorded by the run (command.json)'
            : 'rebuilt from config.json and metrics.json: the run recorded no command, so flags that are not configuration (such as --limit) are unknown'
        }</p><pre class="cmd">${esc(r.command)}</pre></details>`,
    )
    .join('');
  const same = keys.length ? '' : '<p class="muted">The runs have the same configuration (or none recorded one).</p>';
  return `${same}<div class="scroll"><table class="prov">${head}${rows}</table></div><h3>Commands that reproduce each run</h3>${cmds}`;
}

export function renderPage(m: PageModel): string {
  const data = { runs: m.runs, vendor: m.vendor, specs: m.specs, gallery: m.gallery };
  const legend = m.runs.map((r) => `<span class="legend-item">${swatch(r.colour)}${esc(r.label)}${r.incomplete ? ` <strong class="incomplete">(${esc(r.incomplete)})</strong>` : ''}</span>`).join(' ');
  const notes = m.notes.length ? `<ul class="notes">${m.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  const sweeps = m.sweeps.length > 0;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(m.title)}</title>
<style>${m.css}</style>
</head><body>
<header><h1>${esc(m.title)}</h1><p class="muted">${m.runs.length} run(s), made ${esc(m.created)}</p><p class="legend">${legend}</p>
<nav><a href="#metrics">Metrics</a> <a href="#curves">Curves</a>${sweeps ? ' <a href="#sweeps">Sweeps</a>' : ''} <a href="#gallery-section">Gallery</a> <a href="#provenance">Provenance</a></nav>${notes}</header>
<main>
<section id="metrics"><h2>Metrics</h2><p class="muted">In %, as each run's metrics.json (hover for the exact value). Bold on green: the best of its group. Click a column title to sort the runs within each group.${m.tableNote ? ` ${esc(m.tableNote)}` : ''}</p>
<div class="scroll">${tableHtml(m)}</div></section>
<section id="curves"><h2>Curves</h2><p class="muted">Pixel PR and ROC per category for every run, from the curves the evaluation stored; dots mark each run's F1-max threshold. Per-region overlap up to the AUPRO limit.</p>${curvesHtml(m)}</section>
${sweeps ? `<section id="sweeps"><h2>Sweeps</h2>${sweepsHtml(m)}</section>` : ''}
<section id="gallery-section"><h2>Gallery</h2><p class="muted">Anomalous images first, then by how much the runs' maps disagree. Each run's map is drawn over the image on one colour scale: normalised as the evaluation normalised it. Click a picture for a larger one.</p>${galleryHtml(m)}</section>
<section id="provenance"><h2>Provenance</h2>${provenanceHtml(m)}</section>
</main>
<dialog id="viewer"><form method="dialog"><button class="close" aria-label="close">×</button></form><canvas id="viewer-canvas"></canvas><p id="viewer-caption"></p></dialog>
<script type="application/json" id="report-data">${inlineJson(data)}</script>
<script>${m.script}</script>
</body></html>
`;
}
