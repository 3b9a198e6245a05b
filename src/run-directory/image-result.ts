/** One image's results as a run directory holds them, decoded: its map, its masks, its prompts. */
import { join } from 'node:path';
import type { PictureInputs } from '../viz/run-visuals.js';
import { decodeRle } from './rle.js';
import type { ImageRecord } from './records.js';
import { RunDir } from './run-dir.js';

export async function readImageResult(runDir: string, rec: ImageRecord): Promise<PictureInputs> {
  const map = await new RunDir(runDir).readMap(rec.category, rec.relId);
  return {
    imagePath: rec.imagePath,
    width: rec.width,
    height: rec.height,
    mapFile: join(runDir, rec.map),
    map: map.data,
    masks: (rec.masks ?? []).map(decodeRle),
    boxes: (rec.samPrompts ?? []).filter((b) => b.kept).map((b) => b.box),
    points: (rec.notes?.points as Array<[number, number]> | undefined) ?? [],
  };
}
