/**
 * Content-addressed on-disk cache for model outputs. Every expensive call is a pure function of
 * (model file hash, input hash, parameters), so its key is a hash of exactly those, and a sweep
 * that changes only thresholds finds every model output here.
 *
 * Layout: <root>/<namespace>/<key[0..2]>/<key>.<ext>. Entries are written atomically.
 *
 * Byte entries are written behind: `setBytes` hands the write to the file system and returns, so
 * a pipeline does not wait for the tens of MB an image's features, embedding and map take
 * (~100 ms per image on the 2-core machine, issue 12); a read of an entry still being written is
 * served from memory, `flush` waits for every pending write (the runner calls it before it reports
 * a run's time), and a failed write is a warning, never a failed image: the cache only saves work.
 */
import { readFile, stat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempOwnerPid, TEMP_SUFFIX, writeFileAtomic } from './fs-atomic.js';
import { hashJson } from './hash.js';
import { pidAlive } from './process.js';

export interface CacheStats {
  hits: number;
  misses: number;
}

export class DiskCache {
  readonly stats = new Map<string, CacheStats>();
  /** Writes handed off and not finished, by path, with the bytes being written. */
  private readonly pending = new Map<string, { data: Uint8Array | readonly Uint8Array[]; done: Promise<void> }>();
  private failedWrites = 0;
  /** Where a failed write is reported (once per cache; the count is in `flush`'s answer). */
  warn: (message: string) => void = (m) => process.stderr.write(`warning: ${m}\n`);

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
    const writing = this.pending.get(this.path(namespace, key, 'bin'));
    if (writing) {
      this.count(namespace, true);
      // A copy, as a read from disk would give: the caller may change what it got.
      return writing.data instanceof Uint8Array ? writing.data.slice() : concatBytes(writing.data);
    }
    try {
      const b = await readFile(this.path(namespace, key, 'bin'));
      this.count(namespace, true);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch {
      this.count(namespace, false);
      return undefined;
    }
  }

  /**
   * Starts writing the entry (bytes, or chunks written one after another, e.g. npyParts) and
   * returns at once (see the top of this file); `data` must not change afterwards.
   */
  async setBytes(namespace: string, key: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const path = this.path(namespace, key, 'bin');
    const done = writeFileAtomic(path, data).then(
      () => undefined,
      (err: Error) => {
        if (this.failedWrites++ === 0) this.warn(`model-output cache: ${err.message} (results are unaffected; later writes that fail are counted, not shown)`);
      },
    );
    const entry = { data, done };
    this.pending.set(path, entry);
    void done.finally(() => {
      if (this.pending.get(path) === entry) this.pending.delete(path);
    });
  }

  /** Waits for every write handed off so far; answers how many writes have failed since this cache was made. */
  async flush(): Promise<{ failedWrites: number }> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()].map((p) => p.done));
    return { failedWrites: this.failedWrites };
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

  /**
   * Temporary files of writes that never finished (their writer was killed): `<entry>.<pid>.<hex>.tmp`.
   * One is stale when its writer is gone (no such pid on this host) and it is over a minute old,
   * or when it is over an hour old whoever wrote it (a cache shared between hosts).
   */
  async staleTemps(now = Date.now()): Promise<Array<{ path: string; bytes: number }>> {
    const out: Array<{ path: string; bytes: number }> = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith(TEMP_SUFFIX)) {
          const st = await stat(p).catch(() => null);
          if (!st) continue;
          const age = now - st.mtimeMs;
          const pid = tempOwnerPid(e.name);
          if (age > 3_600_000 || (age > 60_000 && (pid === undefined || !pidAlive(pid)))) out.push({ path: p, bytes: st.size });
        }
      }
    };
    await walk(this.root);
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /** Removes the stale temporary files; returns how many and their bytes. */
  async clearStale(now = Date.now()): Promise<{ files: number; bytes: number }> {
    const stale = await this.staleTemps(now);
    for (const t of stale) await rm(t.path, { force: true });
    return { files: stale.length, bytes: stale.reduce((a, t) => a + t.bytes, 0) };
  }

  /** Total bytes and entry count per namespace (temporary files of unfinished writes not counted). */
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
          else if (!e.name.endsWith(TEMP_SUFFIX)) {
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

/** One plain Uint8Array (not a Buffer, whose slice() would be a view) holding the chunks in order. */
function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
