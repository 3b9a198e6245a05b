/**
 * The metrics table, pure: one group of rows per category, then the mean rows (each run's own
 * metrics.json `mean`), one row per run, one column per metric; in each group the best value of
 * each column is marked. Values are each metrics.json's, unchanged. When the runs cover several
 * datasets, groups are per dataset and category.
 */
import { METRIC_KEYS, type MetricKey } from '../evaluation/protocol.js';
import type { LoadedRun } from './types.js';

export interface TableRow {
  run: string;
  label: string;
  n_images: number | null;
  values: Record<MetricKey, number | null>;
  /** Metrics in which this row holds the group's best value (only when at least two rows have one). */
  best: MetricKey[];
}

export interface TableGroup {
  /** What the group's first cell says: the category (or 'mean'), prefixed by the dataset when there are several. */
  name: string;
  dataset: string;
  category: string;
  isMean: boolean;
  rows: TableRow[];
}

function pick(src: object, metrics: readonly MetricKey[]): Record<MetricKey, number | null> {
  const s = src as Record<string, unknown>;
  const out = {} as Record<MetricKey, number | null>;
  for (const m of metrics) out[m] = typeof s[m] === 'number' ? (s[m] as number) : null;
  return out;
}

export function metricsTable(runs: LoadedRun[], metrics: readonly MetricKey[] = METRIC_KEYS): TableGroup[] {
  const datasets = [...new Set(runs.map((r) => r.metrics.dataset.name))];
  const prefix = (d: string, c: string) => (datasets.length > 1 ? `${d} / ${c}` : c);
  const groups: TableGroup[] = [];
  for (const dataset of datasets) {
    const own = runs.filter((r) => r.metrics.dataset.name === dataset);
    const cats: string[] = [];
    for (const r of own) for (const c of r.metrics.categories) if (!cats.includes(c.category)) cats.push(c.category);
    for (const category of cats) {
      groups.push({
        name: prefix(dataset, category),
        dataset,
        category,
        isMean: false,
        rows: own.flatMap((r) => {
          const c = r.metrics.categories.find((x) => x.category === category);
          return c ? [{ run: r.id, label: r.label, n_images: c.n_images, values: pick(c, metrics), best: [] }] : [];
        }),
      });
    }
    groups.push({
      name: prefix(dataset, 'mean'),
      dataset,
      category: 'mean',
      isMean: true,
      rows: own.map((r) => ({ run: r.id, label: r.label, n_images: r.metrics.mean.n_images ?? null, values: pick(r.metrics.mean, metrics), best: [] })),
    });
  }
  for (const g of groups) {
    for (const m of metrics) {
      const vals = g.rows.map((row) => row.values[m]).filter((v): v is number => v !== null);
      if (vals.length < 2) continue;
      const top = Math.max(...vals);
      for (const row of g.rows) if (row.values[m] === top) row.best.push(m);
    }
  }
  return groups;
}

/** Whether runs of one dataset were evaluated on different category sets (their means then average unlike things). */
export function categorySetsDiffer(runs: LoadedRun[]): boolean {
  const byDataset = new Map<string, Set<string>>();
  for (const r of runs) {
    const key = r.metrics.categories.map((c) => c.category).sort().join('\u0000');
    const set = byDataset.get(r.metrics.dataset.name) ?? new Set<string>();
    set.add(key);
    byDataset.set(r.metrics.dataset.name, set);
  }
  return [...byDataset.values()].some((s) => s.size > 1);
}
