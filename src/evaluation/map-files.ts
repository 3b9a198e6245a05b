/**
 * Anomaly maps on disk, as any method can write them: `<maps>/<category>/<relId>.npy` (float32 or
 * float64, H x W; a singleton leading or trailing axis is accepted) or `.png` (8- or 16-bit,
 * single channel; raw integer values are the scores). `.npy` wins when both exist.
 *
 * Category and relId are written as run directories write them (util/file-names.ts: characters
 * other than letters, digits, `_`, `-` and the file name's dots escaped as %XX), which is the
 * plain relId for ordinary names. A map named with the raw relId (`a b.npy`) is found too, unless
 * that raw name is the escaped name of another image.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { loadImage } from '../image/io.js';
import { UserError } from '../util/errors.js';
import { escapeRelPath, escapeSegment, isEscapedRelPath } from '../util/file-names.js';
import { decodeNpy } from '../util/npy.js';
import type { MapInput } from './protocol.js';

export const MAP_EXTENSIONS = ['.npy', '.png'] as const;

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * The names (relative to the maps folder, '/'-separated, without extension) a test image's map
 * may have, preferred first: the escaped name, then the raw one when it differs and is no other
 * image's escaped name.
 */
export function mapFileIds(category: string, relId: string): string[] {
  const escaped = `${escapeSegment(category, { folder: true })}/${escapeRelPath(relId)}`;
  const raw = `${category}/${relId}`;
  return raw === escaped || isEscapedRelPath(raw) ? [escaped] : [escaped, raw];
}

/** The map file of a test image, or null when there is none. */
export async function findMapFile(mapsDir: string, category: string, relId: string): Promise<string | null> {
  for (const id of mapFileIds(category, relId)) {
    for (const ext of MAP_EXTENSIONS) {
      const p = join(mapsDir, ...id.split('/')) + ext;
      if (await isFile(p)) return p;
    }
  }
  return null;
}

export async function readMapFile(path: string): Promise<MapInput> {
  if (path.toLowerCase().endsWith('.npy')) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new UserError(`cannot read map ${path}: ${(err as Error).message}`);
    }
    const arr = decodeNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
    const shape = arr.shape.filter((d, i) => !(d === 1 && arr.shape.length === 3 && (i === 0 || i === 2)));
    if (shape.length !== 2) throw new UserError(`map ${path}: expected a 2-D (H, W) array, got shape (${arr.shape.join(', ')})`);
    return { data: arr.data, width: shape[1], height: shape[0] };
  }
  const img = await loadImage(path);
  if (img.channels !== 1) throw new UserError(`map ${path}: has ${img.channels} channels; save maps as single-channel (gray) PNG or .npy`);
  return { data: img.data, width: img.width, height: img.height };
}

/** Every map-like file under a folder, as paths relative to it with '/' separators. */
export async function listMapFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (MAP_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) out.push(relative(dir, p).split(sep).join('/'));
    }
  }
  await walk(dir);
  return out.sort();
}
