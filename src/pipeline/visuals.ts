/**
 * Per-image pictures of a run, made from what the run directory recorded (so they can be redrawn
 * for a finished or resumed run): heat map, binary mask (union of the recorded masks), overlay
 * (the image under a semi-transparent heat map, prediction and ground-truth outlines, prompt boxes
 * and points: src/viz/overlay.ts), and the map itself as .npy.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadMask, loadRgb } from '../image/io.js';
import { writeHeatmapPng, writeMaskPng, writeOverlayPng } from '../viz/index.js';
import { decodeRle } from './rle.js';
import { RunDir, type ImageRecord } from './run-dir.js';
import { unionMask } from '../image/masks.js';

export interface VisualFiles {
  map: string;
  heatmap: string;
  mask: string;
  overlay: string;
}

export interface VisualOptions {
  /** Ground-truth mask of the image, outlined in the overlay. */
  maskPath?: string | null;
  /**
   * Colour-scale range of the heat maps, e.g. the category's `map_range` from metrics.json, so that
   * every image of a category is drawn on one scale (default: each map's own range).
   */
  range?: { min: number; max: number } | null;
}

/** Writes <outDir>/<stem>.{npy, heatmap.png, mask.png, overlay.png}; `stem` may name sub-folders (a/b). */
export async function writeVisuals(runDir: string, rec: ImageRecord, outDir: string, stem: string, opts: VisualOptions = {}): Promise<VisualFiles> {
  const dir = new RunDir(runDir);
  await mkdir(dirname(join(outDir, `${stem}.npy`)), { recursive: true });
  const files: VisualFiles = {
    map: join(outDir, `${stem}.npy`),
    heatmap: join(outDir, `${stem}.heatmap.png`),
    mask: join(outDir, `${stem}.mask.png`),
    overlay: join(outDir, `${stem}.overlay.png`),
  };
  const [image, map] = await Promise.all([loadRgb(rec.imagePath), dir.readMap(rec.category, rec.relId)]);
  const { width, height } = rec;
  const masks = (rec.masks ?? []).map(decodeRle);
  const mask = unionMask(masks, width * height);
  const kept = (rec.boxes ?? []).filter((b) => b.kept);
  const points = (rec.notes?.points as Array<[number, number]> | undefined) ?? [];
  const gt = opts.maskPath ? (await loadMask(opts.maskPath)).data : undefined;
  await copyFile(join(runDir, rec.map), files.map);
  const range = opts.range ?? undefined;
  await writeHeatmapPng(files.heatmap, map.data, width, height, { min: range?.min, max: range?.max });
  await writeMaskPng(files.mask, mask, width, height);
  await writeOverlayPng(files.overlay, image, { map: map.data, min: range?.min, max: range?.max, prediction: mask, groundTruth: gt, boxes: kept.map((b) => b.box), points });
  return files;
}
