/**
 * Per-image pictures of a run, made from what its run directory recorded (so they can be redrawn
 * for a finished or resumed run): heat map, binary mask (union of the recorded masks), overlay
 * (the image under a semi-transparent heat map, prediction and ground-truth outlines, prompt boxes
 * and points: overlay.ts), and the map itself as .npy. The record is decoded by the run
 * directory's reader (run-directory/image-result.ts); this module only draws.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadMask, loadRgb } from '../image/io.js';
import { unionMask } from '../image/masks.js';
import type { Box } from '../image/types.js';
import { writeHeatmapPng, writeMaskPng, writeOverlayPng } from './write.js';

/** One image's results, decoded. */
export interface PictureInputs {
  imagePath: string;
  width: number;
  height: number;
  /** The map file, copied as it is. */
  mapFile: string;
  map: Float32Array;
  /** Binary masks (0/1) of the kept boxes. */
  masks: Uint8Array[];
  boxes: Box[];
  points: Array<[number, number]>;
}

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
export async function writeVisuals(pic: PictureInputs, outDir: string, stem: string, opts: VisualOptions = {}): Promise<VisualFiles> {
  await mkdir(dirname(join(outDir, `${stem}.npy`)), { recursive: true });
  const files: VisualFiles = {
    map: join(outDir, `${stem}.npy`),
    heatmap: join(outDir, `${stem}.heatmap.png`),
    mask: join(outDir, `${stem}.mask.png`),
    overlay: join(outDir, `${stem}.overlay.png`),
  };
  const image = await loadRgb(pic.imagePath);
  const { width, height, map } = pic;
  const mask = unionMask(pic.masks, width * height);
  const gt = opts.maskPath ? (await loadMask(opts.maskPath)).data : undefined;
  await copyFile(pic.mapFile, files.map);
  const range = opts.range ?? undefined;
  await writeHeatmapPng(files.heatmap, map, width, height, { min: range?.min, max: range?.max });
  await writeMaskPng(files.mask, mask, width, height);
  await writeOverlayPng(files.overlay, image, { map, min: range?.min, max: range?.max, prediction: mask, groundTruth: gt, boxes: pic.boxes, points: pic.points });
  return files;
}
