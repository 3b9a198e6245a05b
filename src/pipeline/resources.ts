/**
 * What runs made one after another in one process share (a sweep, a queue worker slot): loaded
 * model sessions, one disk-cache object per cache root (so its counters live as long as the
 * process and each run reports its own difference), a memory-bounded memo of pure results
 * (decoded images, few-shot memory banks) and the evaluation's prepared ground truth.
 *
 * None of it changes a result: a run with resources writes the same files as a run without. A
 * plain `iapas run` makes none and loads everything for itself. Runs sharing resources must not
 * run at the same time (model-run counts are read as differences); a worker with n slots keeps
 * one RunResources per slot.
 */
import { resolve } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { BaseConfig } from '../config/schema.js';
import { GroundTruthStore } from '../evaluation/ground-truth.js';
import { defaultCacheRoot, DiskCache } from '../util/disk-cache.js';

export interface RunResourcesOptions {
  /** Bytes of memoised values kept in memory (least recently used dropped first). Default 1 GiB. */
  memoBytes?: number;
  /** Bytes of prepared ground-truth masks kept. Default 256 MiB. */
  maskBytes?: number;
}

interface SharedModel {
  value: Promise<unknown>;
  dispose: (v: unknown) => Promise<void> | void;
}

export class RunResources {
  private readonly models = new Map<string, SharedModel>();
  private readonly memoStore: LRUCache<string, { value: unknown }>;
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly caches = new Map<string, DiskCache>();
  readonly groundTruth: GroundTruthStore;
  /** Memo lookups answered from memory, and values computed. */
  readonly memoStats = { hits: 0, computed: 0 };

  constructor(opts: RunResourcesOptions = {}) {
    // Each entry's size is given when it is set (memo's `bytes`).
    this.memoStore = new LRUCache({ maxSize: opts.memoBytes ?? 1024 ** 3 });
    this.groundTruth = new GroundTruthStore({ maxBytes: opts.maskBytes });
  }

  /** The model-output cache of a config (one object per root), or undefined when `cache: false`. */
  diskCache(config: BaseConfig): DiskCache | undefined {
    if (!config.cache) return undefined;
    const root = config.cache_dir ? resolve(config.cache_dir) : resolve(defaultCacheRoot());
    let c = this.caches.get(root);
    if (!c) {
      c = new DiskCache(root);
      this.caches.set(root, c);
    }
    return c;
  }

  /**
   * A loaded model kept for every later pipeline that asks with the same key (which must name
   * everything the load depends on: files, options, cache root). Released by dispose().
   */
  model<T>(key: string, load: () => Promise<T>, dispose: (m: T) => Promise<void> | void): Promise<T> {
    const hit = this.models.get(key);
    if (hit) return hit.value as Promise<T>;
    const value = load();
    this.models.set(key, { value, dispose: dispose as (v: unknown) => Promise<void> | void });
    // A failed load is not kept: the next run tries again (and reports its own error).
    value.catch(() => this.models.delete(key));
    return value;
  }

  /** The value of a pure computation named by `key`, from memory when it was computed before. */
  async memo<T>(key: string, compute: () => Promise<T>, bytes: (v: T) => number): Promise<T> {
    const hit = this.memoStore.get(key);
    if (hit) {
      this.memoStats.hits++;
      return hit.value as T;
    }
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const p = (async () => {
      const value = await compute();
      this.memoStats.computed++;
      this.memoStore.set(key, { value }, { size: Math.max(1, bytes(value)) });
      return value;
    })();
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }

  async dispose(): Promise<void> {
    const models = [...this.models.values()];
    this.models.clear();
    this.memoStore.clear();
    for (const m of models) {
      try {
        await m.dispose(await m.value);
      } catch {
        // A model that failed to load has nothing to dispose of.
      }
    }
  }
}

/**
 * A model for one pipeline: the shared one when the build has resources (the handle's dispose is
 * then a no-op; the resources dispose of the model), else loaded for this pipeline alone.
 */
export async function acquireModel<T>(
  resources: RunResources | undefined,
  key: string,
  load: () => Promise<T>,
  dispose: (m: T) => Promise<void> | void,
): Promise<{ model: T; dispose(): Promise<void> }> {
  if (resources) return { model: await resources.model(key, load, dispose), dispose: async () => {} };
  const model = await load();
  return { model, dispose: async () => void (await dispose(model)) };
}
