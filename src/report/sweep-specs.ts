/**
 * Sweep charts (Vega-Lite, pure): each metric against each varied key, one line per dataset, and
 * a heat map per dataset for each pair of varied keys; the best point is ringed, the best cell
 * outlined. One point per (run, dataset): the run's mean row, or the mean of its category rows
 * when the results have no mean rows.
 */
import type { MetricKey } from '../evaluation/protocol.js';
import { baseConfig, type ChartSize, DATASET_SCHEME, PAGE_SIZE, type Spec, VEGA_LITE_SCHEMA } from './chart-style.js';
import type { ParamValue, SweepResults } from './sweep-results.js';
import { METRIC_LABELS } from '../evaluation/protocol.js';

interface SweepPoint {
  run: string;
  dataset: string;
  params: Record<string, ParamValue>;
  value: number;
}

/** One value per (run, dataset) for a metric. */
export function sweepPoints(s: SweepResults, metric: MetricKey): SweepPoint[] {
  const groups = new Map<string, { run: string; dataset: string; params: Record<string, ParamValue>; mean: number | null; cats: number[] }>();
  for (const r of s.rows) {
    const key = `${r.run}\u0000${r.dataset}`;
    const g = groups.get(key) ?? { run: r.run, dataset: r.dataset, params: r.params, mean: null, cats: [] };
    const v = r.metrics[metric];
    if (typeof v === 'number') {
      if (r.category === 'mean') g.mean = v;
      else g.cats.push(v);
    }
    groups.set(key, g);
  }
  const out: SweepPoint[] = [];
  for (const g of groups.values()) {
    const value = g.mean ?? (g.cats.length ? g.cats.reduce((a, b) => a + b, 0) / g.cats.length : null);
    if (value !== null) out.push({ run: g.run, dataset: g.dataset, params: g.params, value });
  }
  return out;
}

const isNumeric = (values: unknown[]) => values.every((v) => typeof v === 'number');

/** Sorted distinct values of a key: numbers ascending, else as strings in first-seen order. */
function levels(values: unknown[]): Array<number | string> {
  return isNumeric(values) ? [...new Set(values as number[])].sort((a, b) => a - b) : [...new Set(values.map(String))];
}

/** A y scale that shows a constant series (a domain of one value draws no axis). */
function yScale(values: number[]): Spec {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (hi - lo > 1e-9) return { zero: false };
  return { domain: [lo - 0.05, hi + 0.05] };
}

const paramText = (p: Record<string, ParamValue>) => Object.entries(p).map(([a, b]) => `${a}=${b}`).join(', ');

/**
 * One metric against one varied key, a line per dataset. With more varied keys each x shows the
 * best value over the other keys (the sweep's profile); the best point per dataset is ringed.
 */
export function sweepLineSpec(s: SweepResults, metric: MetricKey, key: string, size: ChartSize = PAGE_SIZE): Spec {
  const byX = new Map<string, { dataset: string; x: ParamValue; y: number; run: string; params: string }>();
  for (const p of sweepPoints(s, metric)) {
    if (!(key in p.params)) continue;
    const k = `${p.dataset}\u0000${JSON.stringify(p.params[key])}`;
    const prev = byX.get(k);
    if (!prev || p.value > prev.y) byX.set(k, { dataset: p.dataset, x: p.params[key], y: p.value, run: p.run, params: paramText(p.params) });
  }
  const values = [...byX.values()];
  const best = new Map<string, (typeof values)[number]>();
  for (const v of values) if (!best.has(v.dataset) || v.y > best.get(v.dataset)!.y) best.set(v.dataset, v);
  const numeric = isNumeric(values.map((v) => v.x));
  const x = numeric
    ? { field: 'x', type: 'quantitative', title: key, scale: { zero: false } }
    : { field: 'x', type: 'ordinal', title: key, sort: levels(values.map((v) => v.x)), axis: { labelAngle: 0 } };
  const y = { field: 'y', type: 'quantitative', title: METRIC_LABELS[metric], scale: values.length ? yScale(values.map((v) => v.y)) : { zero: false } };
  const colour = { field: 'dataset', type: 'nominal', title: 'dataset', scale: { scheme: DATASET_SCHEME } };
  const others = s.varied.filter((k) => k !== key);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: `${METRIC_LABELS[metric]} vs ${key}`, subtitle: others.length ? `best over ${others.join(', ')}; ring: best` : 'ring: best point' },
    width: size.width,
    height: size.height,
    config: baseConfig(size),
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 1.6 },
        encoding: { x, y, color: colour, tooltip: [{ field: 'run' }, { field: 'params' }, { field: 'y', title: metric, format: '.4f' }] },
      },
      {
        data: { values: [...best.values()] },
        mark: { type: 'point', size: 220, strokeWidth: 2.2, filled: false },
        encoding: { x, y, color: colour },
      },
    ],
  };
}

/** Two varied keys as a grid: one heat map per dataset (own colour scale), the best cell outlined. */
export function sweepHeatmapSpec(s: SweepResults, metric: MetricKey, keyX: string, keyY: string, size: ChartSize = PAGE_SIZE): Spec {
  // Several runs per cell (a third varied key): the best.
  const cells = new Map<string, { dataset: string; x: ParamValue; y: ParamValue; v: number; run: string }>();
  for (const p of sweepPoints(s, metric)) {
    if (!(keyX in p.params && keyY in p.params)) continue;
    const k = `${p.dataset}\u0000${JSON.stringify(p.params[keyX])}\u0000${JSON.stringify(p.params[keyY])}`;
    if (!cells.has(k) || p.value > cells.get(k)!.v) cells.set(k, { dataset: p.dataset, x: p.params[keyX], y: p.params[keyY], v: p.value, run: p.run });
  }
  const values = [...cells.values()].map((c) => ({ ...c, x: String(c.x), y: String(c.y), label: (100 * c.v).toFixed(1) }));
  const raw = [...cells.values()];
  const x = { field: 'x', type: 'ordinal', title: keyX, sort: levels(raw.map((c) => c.x)).map(String), axis: { grid: false, labelAngle: 0 } };
  const y = { field: 'y', type: 'ordinal', title: keyY, sort: levels(raw.map((c) => c.y)).map(String).reverse(), axis: { grid: false } };
  const datasets = new Set(values.map((v) => v.dataset)).size;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: `${METRIC_LABELS[metric]}: ${keyX} x ${keyY}`, subtitle: 'values in %; colour scale per dataset; outlined: best cell' },
    config: baseConfig(size),
    data: { values },
    transform: [{ joinaggregate: [{ op: 'min', field: 'v', as: 'vmin' }, { op: 'max', field: 'v', as: 'vmax' }], groupby: ['dataset'] }],
    facet: { field: 'dataset', type: 'nominal', title: null },
    columns: Math.min(3, Math.max(1, datasets)),
    resolve: { scale: { color: 'independent' } },
    spec: {
      width: Math.round(size.width * 0.8),
      height: Math.round(size.height * 0.8),
      layer: [
        {
          mark: { type: 'rect' },
          encoding: { x, y, color: { field: 'v', type: 'quantitative', title: METRIC_LABELS[metric], scale: { scheme: 'viridis' }, legend: { format: '.0%' } }, tooltip: [{ field: 'run' }, { field: 'v', title: metric, format: '.4f' }] },
        },
        {
          mark: { type: 'text', fontSize: size.fontSize - 1 },
          encoding: { x, y, text: { field: 'label' }, color: { condition: { test: 'datum.v > (datum.vmin + datum.vmax) / 2', value: 'black' }, value: 'white' } },
        },
        {
          transform: [{ filter: 'datum.v === datum.vmax' }],
          mark: { type: 'rect', fill: null, stroke: '#ff2d55', strokeWidth: 3 },
          encoding: { x, y },
        },
      ],
    },
  };
}

export interface NamedSpec {
  name: string;
  metric: MetricKey;
  spec: Spec;
}

/** Every sweep chart of the metrics that have values: per metric a line chart per varied key and a heat map per pair. */
export function sweepSpecs(s: SweepResults, metrics: readonly MetricKey[], size: ChartSize = PAGE_SIZE): NamedSpec[] {
  const out: NamedSpec[] = [];
  for (const m of metrics) {
    if (!s.rows.some((r) => typeof r.metrics[m] === 'number')) continue;
    for (const k of s.varied) out.push({ name: `sweep-${m}-${k}`, metric: m, spec: sweepLineSpec(s, m, k, size) });
    for (let a = 0; a < s.varied.length; a++) {
      for (let b = a + 1; b < s.varied.length; b++) {
        out.push({ name: `sweep-${m}-${s.varied[a]}-x-${s.varied[b]}`, metric: m, spec: sweepHeatmapSpec(s, m, s.varied[a], s.varied[b], size) });
      }
    }
  }
  return out;
}
