/**
 * The look every chart of a report shares, on the page and in the paper figures: sizes, fonts, and
 * one colour per run kept over all charts.
 */

/** A Vega-Lite specification (plain JSON). */
export type Spec = Record<string, unknown>;

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface ChartSize {
  width: number;
  height: number;
  /** Label font size; titles get +1 / +2. */
  fontSize: number;
}

/** On the page; and for papers: one column of a two-column paper (3.4 in at 96 px per inch, plot area). */
export const PAGE_SIZE: ChartSize = { width: 260, height: 220, fontSize: 11 };
export const PAPER_SIZE: ChartSize = { width: 250, height: 190, fontSize: 9 };

/** Tableau 10, then Tableau 20's light tones: a colour per run, the same in every chart of a report. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#a0cbe8', '#ffbe7d', '#8cd17d', '#86bcb6', '#f1ce63', '#d4a6c8', '#d37295', '#fabfd2', '#79706e', '#b6992d'];

export interface RunColours {
  domain: string[];
  range: string[];
}

export function runColours(labels: string[]): RunColours {
  return { domain: labels, range: labels.map((_, i) => PALETTE[i % PALETTE.length]) };
}

/** Datasets in sweep charts get another scheme, so they are not mistaken for runs. */
export const DATASET_SCHEME = 'dark2';

/** DejaVu Sans first: the font the headless PNG export finds on Debian (fonts-dejavu-core). */
export function baseConfig(size: ChartSize): Spec {
  const fs = size.fontSize;
  return {
    font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
    view: { stroke: '#ddd' },
    axis: { labelFontSize: fs, titleFontSize: fs + 1, grid: true, gridColor: '#eee', tickCount: 5 },
    legend: { labelFontSize: fs, titleFontSize: fs + 1, symbolSize: 60, labelLimit: 180 },
    title: { fontSize: fs + 2, subtitleFontSize: fs, anchor: 'start', offset: 6 },
    header: { labelFontSize: fs + 1, titleFontSize: fs + 1 },
  };
}

/** 4 significant digits: what a chart needs, and what keeps the inlined specs small. */
export const r4 = (v: number): number => (v === 0 || !Number.isFinite(v) ? v : Number(v.toPrecision(4)));
