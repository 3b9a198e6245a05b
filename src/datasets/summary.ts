/**
 * Counts of a dataset index per category, split, label and defect type: what `iapas datasets inspect`
 * prints and writes to JSON. Pure; no file access.
 */
import type { DatasetIndex, Label, Split } from './types.js';
import { byCodeUnits } from './walk.js';

export interface CountRow {
  category: string;
  split: Split;
  label: Label;
  defectType: string;
  images: number;
  withMask: number;
}

export interface CategorySummary {
  category: string;
  images: number;
  normal: number;
  anomalous: number;
  anomalousWithMask: number;
  defectTypes: string[];
  train: { normal: number; anomalous: number };
  test: { normal: number; anomalous: number };
}

export interface DatasetSummary {
  layout: string;
  root: string;
  categories: CategorySummary[];
  rows: CountRow[];
  totals: { images: number; normal: number; anomalous: number; anomalousWithMask: number };
  problems: { total: number; byKind: Record<string, number> };
}

export function summarise(index: DatasetIndex): DatasetSummary {
  const rows = new Map<string, CountRow>();
  const cats = new Map<string, CategorySummary>();
  for (const c of index.categories) {
    cats.set(c, {
      category: c,
      images: 0,
      normal: 0,
      anomalous: 0,
      anomalousWithMask: 0,
      defectTypes: [],
      train: { normal: 0, anomalous: 0 },
      test: { normal: 0, anomalous: 0 },
    });
  }
  for (const s of index.samples) {
    const key = [s.category, s.split, s.label, s.defectType].join('\u0000');
    const row = rows.get(key) ?? { category: s.category, split: s.split, label: s.label, defectType: s.defectType, images: 0, withMask: 0 };
    row.images++;
    if (s.maskPath) row.withMask++;
    rows.set(key, row);
    const c = cats.get(s.category);
    if (!c) continue;
    c.images++;
    c[s.label]++;
    c[s.split][s.label]++;
    if (s.label === 'anomalous') {
      if (s.maskPath) c.anomalousWithMask++;
      if (!c.defectTypes.includes(s.defectType)) c.defectTypes.push(s.defectType);
    }
  }
  for (const c of cats.values()) c.defectTypes.sort(byCodeUnits);
  const order = { train: 0, test: 1, normal: 0, anomalous: 1 } as const;
  const sortedRows = [...rows.values()].sort(
    (a, b) =>
      byCodeUnits(a.category, b.category) ||
      order[a.split] - order[b.split] ||
      order[a.label] - order[b.label] ||
      byCodeUnits(a.defectType, b.defectType),
  );
  const categories = [...cats.values()];
  const byKind: Record<string, number> = {};
  for (const p of index.problems) byKind[p.kind] = (byKind[p.kind] ?? 0) + 1;
  return {
    layout: index.layout,
    root: index.root,
    categories,
    rows: sortedRows,
    totals: {
      images: categories.reduce((a, c) => a + c.images, 0),
      normal: categories.reduce((a, c) => a + c.normal, 0),
      anomalous: categories.reduce((a, c) => a + c.anomalous, 0),
      anomalousWithMask: categories.reduce((a, c) => a + c.anomalousWithMask, 0),
    },
    problems: { total: index.problems.length, byKind },
  };
}

/** One line per category, e.g. 'mtd: 100 images: 60 anomalous (60 with masks) in 5 defect types, 40 normal'. */
export function categoryLine(c: CategorySummary): string {
  const types = c.defectTypes.length === 1 ? '1 defect type' : `${c.defectTypes.length} defect types`;
  const train = c.train.normal + c.train.anomalous;
  const split = train ? ` [train ${c.train.normal} normal${c.train.anomalous ? ` + ${c.train.anomalous} anomalous` : ''}]` : ' [no train split]';
  return `${c.category}: ${c.images} images: ${c.anomalous} anomalous (${c.anomalousWithMask} with masks) in ${types}, ${c.normal} normal${split}`;
}

/** A plain text table with left-aligned columns. */
export function formatTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
