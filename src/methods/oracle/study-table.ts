/** The oracle study's tables: the seed's wide "IoU / P-AUROC" layout and a numeric long CSV. */
import type { OracleResult } from './study.js';
import { columnTitle } from './modes.js';

const pct = (v: number | null) => (v === null ? 'n/a' : (100 * v).toFixed(1));

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows of the wide table: category, images, then one "IoU / P-AUROC" cell per mode; last row the mean. */
export function wideRows(r: OracleResult): string[][] {
  const head = ['category', 'images', ...r.columns.map((m) => `${columnTitle(m)}: IoU / P-AUROC`)];
  const rows = r.categories.map((c) => [
    c.category,
    String(c.anomalous + c.normal),
    ...r.columns.map((m) => `${pct(c.figures[m].iou)} / ${pct(c.figures[m].pixel_auroc)}`),
  ]);
  const total = r.categories.reduce((a, c) => a + c.anomalous + c.normal, 0);
  rows.push(['mean', String(total), ...r.columns.map((m) => `${pct(r.mean[m].iou)} / ${pct(r.mean[m].pixel_auroc)}`)]);
  return [head, ...rows];
}

export function wideCsv(r: OracleResult): string {
  return wideRows(r).map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

/** One row per (category, mode) with the raw fractions. */
export function longCsv(r: OracleResult): string {
  const lines = ['category,mode,images,prompts,decoder_calls,decoder_ms,iou,iou_pooled,pixel_auroc,pixel_auroc_logit'];
  const f = (v: number | null) => (v === null ? '' : v.toFixed(6));
  for (const c of r.categories) {
    for (const m of r.columns) {
      const x = c.figures[m];
      lines.push([csvCell(c.category), csvCell(m), x.images, x.prompts, x.decoder_calls, x.decoder_ms, f(x.iou), f(x.iou_pooled), f(x.pixel_auroc), f(x.pixel_auroc_logit)].join(','));
    }
  }
  for (const m of r.columns) lines.push(['mean', csvCell(m), '', '', '', '', f(r.mean[m].iou), f(r.mean[m].iou_pooled), f(r.mean[m].pixel_auroc), f(r.mean[m].pixel_auroc_logit)].join(','));
  return lines.join('\n') + '\n';
}

/** Decoder calls and time per image of each column, for the terminal. */
export function decoderTable(r: OracleResult): string {
  const rows = [['column', 'decoder calls / image', 'decoder ms / image']];
  for (const m of r.columns) {
    let calls = 0;
    let ms = 0;
    let images = 0;
    for (const c of r.categories) {
      calls += c.figures[m].decoder_calls;
      ms += c.figures[m].decoder_ms;
      images += c.figures[m].images;
    }
    rows.push([m, images ? (calls / images).toFixed(2) : 'n/a', images ? (ms / images).toFixed(0) : 'n/a']);
  }
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  return rows.map((row) => row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')).join('\n') + '\n';
}

/** Aligned plain-text table for the terminal. */
export function textTable(r: OracleResult): string {
  const rows = wideRows(r);
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  return rows.map((row) => row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')).join('\n') + '\n';
}
