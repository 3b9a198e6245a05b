/**
 * Comparison figures of several runs, one PNG per category, drawn by the report's gallery code
 * (src/viz/gallery.ts): one row per image (images every run has, anomalous first, then by how
 * much the runs disagree), columns: the image with its ground-truth outline, then per run its map
 * as a heat map over the image on the shared scale the evaluation normalised to, its mask at its
 * F1-max threshold and its prompts.
 */
import { join } from 'node:path';
import type { EvaluationReport } from '../evaluation/metrics-files.js';
import { loadMask, loadRgb, resizeImage } from '../image/io.js';
import type { RgbImage } from '../image/types.js';
import type { ImageRecord } from '../run-directory/records.js';
import { RunDir } from '../run-directory/run-dir.js';
import { listImageRecords, recordsByCategory } from '../run-directory/list-records.js';
import { blockMean, disagreement, displayScale, type DisplayScale, fitSize, orderImages, renderTile, toDisplay } from '../viz/gallery.js';
import { writeComparisonFigure } from '../viz/write.js';

/** Images every run has, in the first run's order. */
export function commonImages(runs: ImageRecord[][]): ImageRecord[] {
  if (runs.length === 0) return [];
  const key = (r: ImageRecord) => `${r.category}\u0000${r.relId}`;
  const inAll = runs.slice(1).map((recs) => new Set(recs.map(key)));
  return runs[0].filter((r) => inAll.every((s) => s.has(key(r))));
}

export interface FigureRun {
  dir: string;
  report: EvaluationReport;
}

const SMALL = 64;

/** Writes `<out>/<category>.png` per category (`perCategory` rows each); returns the files written. */
export async function writeComparisonFigures(runs: FigureRun[], outDir: string, perCategory: number, cell = 192): Promise<string[]> {
  const records = await Promise.all(runs.map((r) => listImageRecords(r.dir)));
  const written: string[] = [];
  for (const [category, recs] of recordsByCategory(commonImages(records))) {
    // Each run's display scale: the range metrics.json recorded, else the range of its maps here.
    const small: Float32Array[][] = recs.map(() => []);
    const scales: DisplayScale[] = [];
    for (const run of runs) {
      const dir = new RunDir(run.dir);
      const row = run.report.categories.find((c) => c.category === category);
      const maps = await Promise.all(recs.map((r) => dir.readMap(category, r.relId)));
      let lo = Infinity;
      let hi = -Infinity;
      for (const m of maps) for (const v of m.data) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      const scale = displayScale(row?.map_range ?? { min: lo, max: hi }, row?.pixel_f1_threshold ?? null, run.report.options?.normalize !== false);
      scales.push(scale);
      maps.forEach((m, i) => small[i].push(toDisplay(blockMean(m.data, m.width, m.height, SMALL), scale)));
    }
    const picked = orderImages(recs.map((rec, i) => ({ rec, relId: rec.relId, label: rec.label, disagreement: disagreement(small[i]) }))).slice(0, perCategory);
    const rows: RgbImage[][] = [];
    for (const { rec } of picked) {
      const full = await loadRgb(rec.imagePath);
      const [w, h] = fitSize(full.width, full.height, cell);
      const image = await resizeImage(full, w, h);
      const gt = rec.maskPath ? await loadMask(rec.maskPath) : null;
      const row: RgbImage[] = [renderTile({ image, groundTruth: gt })];
      for (const [k, run] of runs.entries()) {
        const r = records[k].find((x) => x.category === category && x.relId === rec.relId)!;
        const map = await new RunDir(run.dir).readMap(category, rec.relId);
        const kept = (r.samPrompts ?? []).filter((b) => b.kept);
        const points = (r.notes?.points as Array<[number, number]> | undefined) ?? [];
        row.push(
          renderTile({
            image,
            map: { ...map, scale: scales[k] },
            groundTruth: gt,
            prompts: { boxes: kept.map((b) => b.box), points, width: r.width, height: r.height },
          }),
        );
      }
      rows.push(row);
    }
    if (!rows.length) continue;
    const file = join(outDir, `${category}.png`);
    await writeComparisonFigure(file, rows, { cell });
    written.push(file);
  }
  return written;
}
