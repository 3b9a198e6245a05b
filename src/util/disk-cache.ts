/**
 * Content-addressed on-disk cache for model outputs. Every expensive call is a pure function of
 * (model file hash, input hash, parameters), so its key is a hash of exactly those, and a sweep
 * that changes only thresholds finds every model output here.
 *
 * Layout: <root>/<namespace>/<key[0..2]>/<key>.<ext>. Entries are written atomically.
 */
import { readFile, stat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fs-atomic.js';
import { hashJson } from './hash.js';

export interface CacheStats {
  hits: number;
  misses: number;
}

export class DiskCache {
  readonly stats = new Map<string, CacheStats>();

  constructor(readonly root: string) {}

  key(parts: unknown): string {
    return hashJson(parts);
  }

  private path(namespace: string, key: string, ext: string): string {
    return join(this.root, namespace, key.slice(0, 2), `${key}.${ext}`);
  }

  private count(namespace: string, hit: boolean): void {
    const s = this.stats.get(namespace) ?? { hits: 0, misses: 0 };
    if (hit) s.hits++;
    else s.misses++;
    this.stats.set(namespace, s);
  }

  async getBytes(namespace: string, key: string): Promise<Uint8Array | undefined> {
    try {
      const b = await readFile(this.path(namespace, key, 'bin'));
      this.count(namespace, true);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch {
      this.count(namespace, false);
      return undefined;
    }
  }

  async setBytes(namespace: string, key: string, data: Uint8Array): Promise<void> {
    await writeFileAtomic(this.path(namespace, key, 'bin'), data);
  }

  async getJson<T>(namespace: string, key: string): Promise<T | undefined> {
    try {
      const txt = await readFile(this.path(namespace, key, 'json'), 'utf8');
      const v = JSON.parse(txt) as T;
      this.count(namespace, true);
      return v;
    } catch {
      this.count(namespace, false);
      return undefined;
    }
  }

  async setJson(namespace: string, key: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.path(namespace, key, 'json'), JSON.stringify(value));
  }

  /** Returns the cached value, or computes, stores and returns it. */
  async memoJson<T>(namespace: string, keyParts: unknown, compute: () => Promise<T>): Promise<T> {
    const key = this.key(keyParts);
    const hit = await this.getJson<T>(namespace, key);
    if (hit !== undefined) return hit;
    const value = await compute();
    await this.setJson(namespace, key, value);
    return value;
  }

  /** Total bytes and entry count per namespace. */
  async size(): Promise<Map<string, { files: number; bytes: number }>> {
    const out = new Map<string, { files: number; bytes: number }>();
    let namespaces: string[];
    try {
      namespaces = await readdir(this.root);
    } catch {
      return out;
    }
    for (const ns of namespaces) {
      const acc = { files: 0, bytes: 0 };
      const walk = async (dir: string): Promise<void> => {
        for (const e of await readdir(dir, { withFileTypes: true })) {
          const p = join(dir, e.name);
          if (e.isDirectory()) await walk(p);
          else {
            acc.files++;
            acc.bytes += (await stat(p)).size;
          }
        }
      };
      await walk(join(this.root, ns));
      out.set(ns, acc);
    }
    return out;
  }

  async clear(namespace?: string): Promise<void> {
    await rm(namespace ? join(this.root, namespace) : this.root, { recursive: true, force: true });
  }
}

/** Default cache root: $IAPAS_CACHE, else .cache/iapas in the working directory. */
export function defaultCacheRoot(): string {
  return process.env.IAPAS_CACHE ?? join(process.cwd(), '.cache', 'iapas');
}
