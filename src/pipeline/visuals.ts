/**
 * Per-image pictures of a run, made from what the run directory recorded (so they can be redrawn
 * for a finished or resumed run): heat map, binary mask (union of the recorded masks), overlay
 * (image, heat map, mask outline, ground-truth outline, prompt boxes and points), and the map
 * itself as .npy.
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

/** Writes <outDir>/<stem>.{npy, heatmap.png, mask.png, overlay.png}; `stem` may name sub-folders (a/b). */
export async function writeVisuals(runDir: string, rec: ImageRecord, outDir: string, stem: string, opts: { maskPath?: string | null } = {}): Promise<VisualFiles> {
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
  await writeHeatmapPng(files.heatmap, map.data, width, height);
  await writeMaskPng(files.mask, mask, width, height);
  await writeOverlayPng(files.overlay, image, { map: map.data, mask, groundTruth: gt, boxes: kept.map((b) => b.box), points });
  return files;
}
