/** Reading a finished run directory's per-image records back (comparisons, reports). */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imageRecordFromJson, type ImageRecord } from './records.js';

/** Every per-image record of a run directory, sorted by category and relId; none when it has no `categories/`. */
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
      const path = join(dir, f);
      try {
        out.push(imageRecordFromJson(JSON.parse(await readFile(path, 'utf8')), path));
      } catch (e) {
        throw new Error(`${path}: not a readable image record (${(e as Error).message})`);
      }
    }
  }
  return out;
}

/** The records grouped by category, in the order listImageRecords gives. */
export function recordsByCategory(records: ImageRecord[]): Map<string, ImageRecord[]> {
  const out = new Map<string, ImageRecord[]>();
  for (const r of records) {
    const list = out.get(r.category);
    if (list) list.push(r);
    else out.set(r.category, [r]);
  }
  return out;
}
