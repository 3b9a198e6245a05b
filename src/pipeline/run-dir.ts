/**
 * The run directory: everything a run produced, written as it is produced (atomically), so a
 * killed run loses at most the images in flight and `--resume` can tell what is complete.
 *
 *   config.json                         effective config
 *   command.json                        the iapas command line (argv, cwd), when a command made the run
 *   models.json                         model files used, with sha256
 *   categories/<cat>/stage-a.json       references, tags, object tag, raw LLM answer, caption
 *   categories/<cat>/images/<relId>.json boxes, phrases, scores, kept/dropped, masks (RLE)
 *   maps/<cat>/<relId>.npy              final anomaly map (float32, image size)
 *   metrics.json, metrics.csv           evaluation tables
 *   timing.json                         per-stage times and cache counters (differs run to run)
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs-atomic.js';
import { decodeNpy, encodeNpy } from '../util/npy.js';
import type { Rle } from './rle.js';
import type { BoxRecord, CaptionRecord, Detection, ModelRecord } from './types.js';

export interface StageARecord {
  category: string;
  references: string[];
  tags?: string[][];
  objectTag?: string;
  objectTagSource?: string;
  caption?: CaptionRecord;
  notes?: Record<string, unknown>;
}

export interface ImageRecord {
  category: string;
  relId: string;
  imagePath: string;
  /** Ground-truth mask of the image, when the dataset has one (figures and comparisons read it). */
  maskPath?: string | null;
  label: string;
  defectType: string;
  width: number;
  height: number;
  objectBox?: Detection | null;
  objectSize?: number;
  boxes?: BoxRecord[];
  /** Masks of the kept boxes, same order as the kept entries of `boxes`. */
  masks?: Rle[];
  /** Path of the map relative to the run directory. */
  map: string;
  notes?: Record<string, unknown>;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Category names and relIds become path segments; keep them inside the run directory. */
function safeSegment(s: string): string {
  return s.replace(/\.\.+/g, '_').replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^\/+/, '');
}

export class RunDir {
  constructor(readonly root: string) {}

  get configPath(): string {
    return join(this.root, 'config.json');
  }

  stageAPath(category: string): string {
    return join(this.root, 'categories', safeSegment(category), 'stage-a.json');
  }

  imagePath(category: string, relId: string): string {
    return join(this.root, 'categories', safeSegment(category), 'images', `${safeSegment(relId)}.json`);
  }

  mapRel(category: string, relId: string): string {
    return join('maps', safeSegment(category), `${safeSegment(relId)}.npy`);
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

  async readStageA(category: string): Promise<StageARecord | undefined> {
    return readJson(this.stageAPath(category));
  }

  async writeStageA(rec: StageARecord): Promise<void> {
    await writeJsonAtomic(this.stageAPath(rec.category), rec);
  }

  /** The map goes first and the record last, so a record on disk means the image is complete. */
  async writeImage(rec: ImageRecord, map: Float32Array): Promise<void> {
    await writeFileAtomic(join(this.root, rec.map), encodeNpy(map, [rec.height, rec.width]));
    await writeJsonAtomic(this.imagePath(rec.category, rec.relId), rec);
  }

  async readImage(category: string, relId: string): Promise<ImageRecord | undefined> {
    return readJson(this.imagePath(category, relId));
  }

  /** Complete = record parses and its map exists with the recorded size. */
  async isComplete(category: string, relId: string): Promise<boolean> {
    const rec = await this.readImage(category, relId);
    if (!rec || typeof rec.map !== 'string') return false;
    try {
      const st = await stat(join(this.root, rec.map));
      return st.size >= rec.width * rec.height * 4;
    } catch {
      return false;
    }
  }

  async readMap(category: string, relId: string): Promise<{ data: Float32Array; width: number; height: number }> {
    const p = join(this.root, this.mapRel(category, relId));
    const bytes = await readFile(p);
    const arr = decodeNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), p);
    const data = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as ArrayLike<number>);
    return { data, height: arr.shape[0], width: arr.shape[1] };
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    await writeJsonAtomic(join(this.root, name), value);
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFileAtomic(join(this.root, name), text);
  }
}
