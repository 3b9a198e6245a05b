/**
 * Comparison figures of several runs: per category, one row per image (the image, its ground
 * truth, then each run's map as a heat map), for images every run has. Each map is scaled to its
 * own min and max, so the figure shows where a method puts its mass, not its absolute scores.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadMask, loadRgb } from '../image/io.js';
import type { ImageRecord } from '../pipeline/run-dir.js';
import { RunDir } from '../pipeline/run-dir.js';
import { heatmapPanel, maskPanel, writeComparisonFigure } from '../viz/write.js';
import type { RgbImage } from '../image/types.js';

/** Every per-image record of a run directory, sorted by category and relId. */
export async function listImageRecords(runDir: string): Promise<ImageRecord[]> {
  const out: ImageRecord[] = [];
  let categories: string[];
  try {
    categories = await readdir(join(runDir, 'categories'));
  } catch {
    return out;
  }
  for (const c of categories.sort()) {
    const dir = join(runDir, 'categories', c, 'images');
    const files = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
    for (const f of files.map(String).filter((x) => x.endsWith('.json')).sort()) {
      out.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as ImageRecord);
    }
  }
  return out;
}

/**
 * Up to `perCategory` images per category present in every run, anomalous ones first, in relId
 * order (deterministic, so figures of two sweeps show the same images).
 */
export function pickFigureImages(runs: ImageRecord[][], perCategory: number): ImageRecord[] {
  if (runs.length === 0) return [];
  const key = (r: ImageRecord) => `${r.category}\u0000${r.relId}`;
  const inAll = runs.slice(1).map((recs) => new Set(recs.map(key)));
  const common = runs[0].filter((r) => inAll.every((s) => s.has(key(r))));
  const byCategory = new Map<string, ImageRecord[]>();
  for (const r of common) byCategory.set(r.category, [...(byCategory.get(r.category) ?? []), r]);
  const picked: ImageRecord[] = [];
  for (const recs of byCategory.values()) {
    const ordered = [...recs.filter((r) => r.label === 'anomalous'), ...recs.filter((r) => r.label !== 'anomalous')];
    picked.push(...ordered.slice(0, perCategory));
  }
  return picked;
}

/** Writes `<out>/<category>.png` per category; returns the files written. */
export async function writeComparisonFigures(runDirs: string[], outDir: string, perCategory: number): Promise<string[]> {
  const records = await Promise.all(runDirs.map(listImageRecords));
  const picked = pickFigureImages(records, perCategory);
  const rowsByCategory = new Map<string, RgbImage[][]>();
  for (const rec of picked) {
    const image = await loadRgb(rec.imagePath);
    const row: RgbImage[] = [image];
    if (rec.maskPath) {
      const m = await loadMask(rec.maskPath);
      row.push(maskPanel(m.data, m.width, m.height));
    } else {
      row.push(maskPanel(new Uint8Array(image.width * image.height), image.width, image.height));
    }
    for (const dir of runDirs) {
      const map = await new RunDir(dir).readMap(rec.category, rec.relId);
      row.push(heatmapPanel(map.data, map.width, map.height));
    }
    rowsByCategory.set(rec.category, [...(rowsByCategory.get(rec.category) ?? []), row]);
  }
  const written: string[] = [];
  for (const [category, rows] of rowsByCategory) {
    const file = join(outDir, `${category}.png`);
    await writeComparisonFigure(file, rows);
    written.push(file);
  }
  return written;
}
