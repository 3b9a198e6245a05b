/**
 * Ground truth prepared for the evaluation grid, kept between evaluations: a sweep evaluates the
 * same test images once per run, and the masks (read, resized, labelled) and image sizes depend
 * only on the files and the resolution, so each is prepared once per dataset and reused by every
 * run. Entries are keyed by path, modification time and size, so an edited file is read again.
 */
import { stat } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { imageSize, loadMask } from '../image/io.js';
import { prepareMask, type PreparedMask } from './protocol.js';

export interface GroundTruthStoreOptions {
  /** Bytes of prepared masks kept (least recently used dropped first); 0 keeps none. Default 256 MiB. */
  maxBytes?: number;
}

export class GroundTruthStore {
  private readonly masks: LRUCache<string, PreparedMask> | undefined;
  private readonly sizes = new Map<string, { width: number; height: number }>();
  /** Masks read and prepared, and masks served from memory. */
  readonly stats = { prepared: 0, reused: 0 };

  constructor(opts: GroundTruthStoreOptions = {}) {
    const maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.masks = maxBytes > 0 ? new LRUCache({ maxSize: maxBytes, sizeCalculation: (m) => Math.max(1, m.labels.byteLength + m.posRegion.byteLength) }) : undefined;
  }

  /** Undefined when the file cannot be stat'ed: it is then read directly, and the reader's error says why. */
  private async fileKey(path: string): Promise<string | undefined> {
    const st = await stat(path).catch(() => undefined);
    return st && `${path}\0${st.mtimeMs}\0${st.size}`;
  }

  /** The mask at `path` resized to side x side with its regions. */
  async mask(path: string, side: number): Promise<PreparedMask> {
    const file = this.masks ? await this.fileKey(path) : undefined;
    if (!this.masks || !file) {
      this.stats.prepared++;
      return prepareMask(await loadMask(path), side, path);
    }
    const key = `${side}\0${file}`;
    const hit = this.masks.get(key);
    if (hit) {
      this.stats.reused++;
      return hit;
    }
    const prepared = prepareMask(await loadMask(path), side, path);
    this.stats.prepared++;
    this.masks.set(key, prepared);
    return prepared;
  }

  /** Width and height of an image file (read from its header once). */
  async imageSize(path: string): Promise<{ width: number; height: number }> {
    const key = await this.fileKey(path);
    const hit = key && this.sizes.get(key);
    if (hit) return hit;
    const size = await imageSize(path);
    if (key) this.sizes.set(key, size);
    return size;
  }
}
