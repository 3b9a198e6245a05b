/**
 * Results of an evaluation as files: a per-category table with the mean over categories, as CSV
 * and JSON with snake_case names. Every file records the protocol options it was computed with
 * (the JSON in `options`, the CSV as trailing columns on every row).
 */
import { join } from 'node:path';
import type { DatasetProblem } from '../datasets/types.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.js';
import { type CategoryMetrics, METRIC_KEYS, METRIC_LABELS, type MetricKey, type ProtocolOptions } from './protocol.js';
import { meanDefined } from '../util/numeric.js';

export interface ReportOptions {
  resolution: number;
  normalize: boolean;
  normal_images: ProtocolOptions['normalImages'];
  /** 'include' or 'skip': what normal_images meant for this dataset. */
  normal_images_resolved: 'include' | 'skip';
  aupro: ProtocolOptions['aupro'];
  fpr_limit: number;
  image_score: 'max';
  map_resize: 'bicubic (OpenCV INTER_CUBIC)';
  mask_resize: 'nearest (OpenCV INTER_NEAREST)';
}

/** [width, height] of the map, its image and (when the image has one) its mask, when they differ. */
export interface SizeMismatch {
  map: string;
  map_size: [number, number];
  image_size: [number, number];
  /** Present when the image has a mask: maps and masks are resized to the evaluation size separately. */
  mask_size?: [number, number];
}

/** A test image left out of the evaluation because a file of it could not be read. */
export interface UnreadableInput {
  map: string;
  /** The file that could not be read (mask, map or image). */
  path: string;
  error: string;
}

export interface EvaluationProblems {
  /** Test images of an evaluated category without a map (evaluated without them). */
  missing_maps: string[];
  /** Map files that match no test image of the dataset. */
  extra_maps: string[];
  /** Maps or masks whose width x height differs from their image's (evaluated after resizing, like any map). */
  size_mismatch: SizeMismatch[];
  /** Test images left out because their mask (or map, or image) could not be read. */
  unreadable: UnreadableInput[];
  /** What the dataset loader reported (missing masks, unreadable files, ...). */
  dataset: DatasetProblem[];
}

export type MeanRow = Record<MetricKey, number | null> & {
  /** How many categories each mean is over (categories where the metric is undefined are left out). */
  n_categories: Record<MetricKey, number>;
  n_images: number;
};

export interface EvaluationReport {
  tool: 'iapas evaluate';
  /** Absent in run directories, whose files depend only on their inputs (so a resumed run is byte-identical). */
  created?: string;
  dataset: { root: string; layout: string; name: string };
  maps: string | null;
  options: ReportOptions;
  categories: CategoryMetrics[];
  mean: MeanRow;
  problems: EvaluationProblems;
  /** Present when a tuned decoder scored images it was trained on (allowed by sam.allow_seen_data). */
  seen_data?: SeenDataFlag;
}

/**
 * What a run scored on seen data keeps in its metrics.json, so that a reader of the numbers
 * (compare, report) sees the flag without the stderr of the run (models/sam/seen-data.ts fills it).
 */
export interface SeenDataFlag {
  decoder: string;
  decoder_sha256: string;
  trained_on: string[];
  /** Evaluated anomalous images that were training images, of `evaluated_images`. */
  seen_images: number;
  evaluated_images: number;
}

export function reportOptions(o: ProtocolOptions, resolved: 'include' | 'skip'): ReportOptions {
  return {
    resolution: o.resolution,
    normalize: o.normalize,
    normal_images: o.normalImages,
    normal_images_resolved: resolved,
    aupro: o.aupro,
    fpr_limit: o.fprLimit,
    image_score: 'max',
    map_resize: 'bicubic (OpenCV INTER_CUBIC)',
    mask_resize: 'nearest (OpenCV INTER_NEAREST)',
  };
}

/** Plain mean over the categories where each metric is defined. */
export function meanOverCategories(rows: CategoryMetrics[]): MeanRow {
  const mean = { n_categories: {}, n_images: 0 } as MeanRow;
  for (const k of METRIC_KEYS) {
    const vals = rows.map((r) => r[k]);
    mean[k] = meanDefined(vals);
    mean.n_categories[k] = vals.filter((v) => v !== null).length;
  }
  mean.n_images = rows.reduce((a, r) => a + r.n_images, 0);
  return mean;
}

function cell(v: number | string | boolean | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(6);
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportCsv(r: EvaluationReport): string {
  const opt = [r.options.resolution, r.options.normalize, r.options.normal_images_resolved, r.options.aupro, r.options.fpr_limit];
  const head = ['category', 'n_images', 'n_anomalous', 'n_normal', ...METRIC_KEYS, 'resolution', 'normalize', 'normal_images', 'aupro_definition', 'fpr_limit'];
  const lines = [head.join(',')];
  for (const c of r.categories) {
    lines.push([c.category, c.n_images, c.n_anomalous, c.n_normal, ...METRIC_KEYS.map((k) => c[k]), ...opt].map(cell).join(','));
  }
  const m = r.mean;
  const nA = r.categories.reduce((a, c) => a + c.n_anomalous, 0);
  lines.push(['mean', m.n_images, nA, m.n_images - nA, ...METRIC_KEYS.map((k) => m[k]), ...opt].map(cell).join(','));
  return lines.join('\n') + '\n';
}

/** A fixed-width table in percent (as papers print them) for the terminal. */
export function formatReportTable(r: EvaluationReport): string {
  const rows: string[][] = [['category', 'images', ...METRIC_KEYS.map((k) => METRIC_LABELS[k])]];
  const pct = (v: number | null) => (v === null ? '-' : (100 * v).toFixed(1));
  for (const c of r.categories) rows.push([c.category, String(c.n_images), ...METRIC_KEYS.map((k) => pct(c[k]))]);
  rows.push(['mean', String(r.mean.n_images), ...METRIC_KEYS.map((k) => pct(r.mean[k]))]);
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  const fmt = (row: string[]) => row.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  ');
  const o = r.options;
  const lines = [
    `# resolution ${o.resolution}, normalize ${o.normalize ? 'on' : 'off'}, normal test images ${o.normal_images_resolved}` +
      ` (${o.normal_images}), AUPRO ${o.aupro} @ FPR ${o.fpr_limit}; values in %`,
    fmt(rows[0]),
    ...rows.slice(1).map(fmt),
  ];
  for (const c of r.categories) for (const n of c.notes) lines.push(`note: ${c.category}: ${n}`);
  return lines.join('\n');
}

/** Writes metrics.csv and metrics.json into `outDir`; returns their paths. */
export async function writeReport(r: EvaluationReport, outDir: string, stem = 'metrics'): Promise<{ csv: string; json: string }> {
  const csv = join(outDir, `${stem}.csv`);
  const json = join(outDir, `${stem}.json`);
  await writeFileAtomic(csv, reportCsv(r));
  await writeJsonAtomic(json, r);
  return { csv, json };
}
