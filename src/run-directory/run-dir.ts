/**
 * The run directory: everything a run produced, written as it is produced (atomically), so a
 * killed run loses at most the images in flight and `--resume` can tell what is complete.
 *
 *   config.json                         effective config
 *   command.json                        the iapas command line (argv, cwd), when a command made the run
 *   models.json                         model files used, with sha256
 *   run.lock                            while a run writes here: its pid and host (lock.ts)
 *   categories/<cat>/stage-a.json       references (with sha256), tags, object tag, raw LLM answer, caption
 *   categories/<cat>/images/<relId>.json boxes, phrases, scores, kept/dropped, masks (RLE), input sha256
 *   maps/<cat>/<relId>.npy              final anomaly map (float32, image size)
 *   metrics.json, metrics.csv           evaluation tables
 *   failed.json                         images left out for bad input (absent when none)
 *   timing.json                         per-stage times and cache counters (differs run to run)
 *   sweep-result.json                   the outcome of the sweep job that made it (sweep-result.ts), in a sweep
 *
 * The JSON files' records are records.ts's (metrics.json: metrics-file.ts).
 *
 * <cat> and <relId> are written through util/file-names.ts (escapeSegment / escapeRelPath): an
 * injective escaping, so two images never share a file and no name leaves the directory.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeRelPath, escapeSegment } from '../util/file-names.js';
import { tempOwnerPid, writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.js';
import { decodeNpy, npyParts } from '../util/npy.js';
import { imageRecordFromJson, type ImageRecord, type ModelRecord, type StageARecord } from './records.js';
import { bytesDigest } from './written-maps.js';

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export class RunDir {
  constructor(readonly root: string) {}

  get configPath(): string {
    return join(this.root, 'config.json');
  }

  stageAPath(category: string): string {
    return join(this.root, 'categories', escapeSegment(category, { folder: true }), 'stage-a.json');
  }

  imagePath(category: string, relId: string): string {
    return join(this.root, 'categories', escapeSegment(category, { folder: true }), 'images', `${escapeRelPath(relId)}.json`);
  }

  mapRel(category: string, relId: string): string {
    return join('maps', escapeSegment(category, { folder: true }), `${escapeRelPath(relId)}.npy`);
  }

  async readConfig(): Promise<Record<string, unknown> | undefined> {
    return readJson(this.configPath);
  }

  async writeConfig(config: unknown): Promise<void> {
    await writeJsonAtomic(this.configPath, config);
  }

  async writeModels(models: ModelRecord[]): Promise<void> {
    await writeJsonAtomic(join(this.root, 'models.json'), models);
  }

  async readModels(): Promise<ModelRecord[] | undefined> {
    return readJson(join(this.root, 'models.json'));
  }

  /** Removes an image's record (first, so it is never complete without its map) and map. */
  async removeImage(category: string, relId: string): Promise<void> {
    await rm(this.imagePath(category, relId), { force: true });
    await rm(join(this.root, this.mapRel(category, relId)), { force: true });
  }

  /** `F`: the method's own fields the reader expects (the record holds what the method wrote). */
  async readStageA<F extends object = {}>(category: string): Promise<StageARecord<F> | undefined> {
    return readJson(this.stageAPath(category));
  }

  async writeStageA(rec: StageARecord): Promise<void> {
    await writeJsonAtomic(this.stageAPath(rec.category), rec);
  }

  /**
   * The map goes first and the record last, so a record on disk means the image is complete.
   * Returns the sha256 of the map file's bytes.
   */
  async writeImage(rec: ImageRecord, map: Float32Array): Promise<string> {
    const parts = npyParts(map, [rec.height, rec.width]);
    await writeFileAtomic(join(this.root, rec.map), parts);
    await writeJsonAtomic(this.imagePath(rec.category, rec.relId), rec);
    return bytesDigest(parts);
  }

  /** Undefined when the record is absent or unreadable: the image is then computed again. */
  async readImage<F extends object = {}>(category: string, relId: string): Promise<ImageRecord<F> | undefined> {
    const path = this.imagePath(category, relId);
    const raw = await readJson<unknown>(path);
    try {
      return raw === undefined ? undefined : (imageRecordFromJson(raw, path) as ImageRecord<F>);
    } catch {
      return undefined;
    }
  }

  /** The record is re-written alone when only its metadata changed (e.g. a replaced mask). */
  async writeRecord(rec: ImageRecord): Promise<void> {
    await writeJsonAtomic(this.imagePath(rec.category, rec.relId), rec);
  }

  /**
   * The record of an image when it is complete: it parses, names this image (category and relId),
   * and its map exists at this run directory's name for it, with the recorded size.
   */
  async completeRecord(category: string, relId: string): Promise<ImageRecord | undefined> {
    const rec = await this.readImage(category, relId);
    if (!rec || rec.category !== category || rec.relId !== relId || rec.map !== this.mapRel(category, relId)) return undefined;
    try {
      const st = await stat(join(this.root, rec.map));
      return st.size >= rec.width * rec.height * 4 ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  async isComplete(category: string, relId: string): Promise<boolean> {
    return (await this.completeRecord(category, relId)) !== undefined;
  }

  async readMap(category: string, relId: string): Promise<{ data: Float32Array; width: number; height: number }> {
    const p = join(this.root, this.mapRel(category, relId));
    const bytes = await readFile(p);
    const arr = decodeNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), p);
    const data = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as ArrayLike<number>);
    return { data, height: arr.shape[0], width: arr.shape[1] };
  }

  /**
   * Removes the temporary files of atomic writes that never finished (a killed run leaves them).
   * Only call while holding the directory's lock: then no other writer can own one.
   */
  async removeOrphanTemps(): Promise<number> {
    let removed = 0;
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isFile() || tempOwnerPid(e.name) === undefined) continue;
      await rm(join(e.parentPath, e.name), { force: true });
      removed++;
    }
    return removed;
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    await writeJsonAtomic(join(this.root, name), value);
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFileAtomic(join(this.root, name), text);
  }
}
