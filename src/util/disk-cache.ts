/**
 * Content-addressed on-disk cache for model outputs. Every expensive call is a pure function of
 * (model file hash, input hash, parameters), so its key is a hash of exactly those, and a sweep
 * that changes only thresholds finds every model output here.
 *
 * Layout: <root>/<namespace>/<key[0..2]>/<key>.<ext>. Entries are written atomically, each with
 * its length and sha256 (cache-entry.ts).
 *
 * What is read is not believed: an entry whose length or checksum does not match, or that its
 * reader does not accept (an npy whose shape is not the one expected, JSON of another shape), is
 * a miss: the caller recomputes and overwrites it, and the cache warns once naming the entry. A
 * damaged entry never reaches the caller, so it can never be taken for a fault of the input.
 * Entries of earlier versions (no header) are plain misses, overwritten as they are recomputed.
 *
 * Entries are written behind: `setBytes` and `setJson` hand the write to the file system and
 * return, so a pipeline does not wait for the tens of MB an image's features, embedding and map
 * take (~100 ms per image on the 2-core machine); a read of an entry still being written is
 * served from memory, `flush` waits for every pending write (the runner calls it before it
 * reports a run's time), and a failed write is a warning, never a failed image: the cache only
 * saves work (a full cache disk must not stop a run).
 */
import { readFile, stat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ZodType, ZodTypeDef } from 'zod';
import { entryHeader, unframeEntry } from './cache-entry.js';
import { tempOwnerPid, TEMP_SUFFIX, writeFileAtomic } from './fs-atomic.js';
import { hashJson } from './hash.js';
import { decodeNpy, type NpyArray } from './npy.js';
import { pidAlive } from './process.js';

export interface CacheStats {
  hits: number;
  misses: number;
}

/** What an npy entry must be: its dtype, and its shape (exact, or a test of it). */
export interface NpyExpectation {
  dtype: NpyArray['dtype'];
  shape?: readonly number[] | ((shape: readonly number[]) => boolean);
}

/** Damaged entries named in a warning per cache object; later ones are counted (see `flush`). */
const NAMED_DAMAGED = 10;

export class DiskCache {
  readonly stats = new Map<string, CacheStats>();
  /** Writes handed off and not finished, by path, with the payload being written. */
  private readonly pending = new Map<string, { data: Uint8Array | readonly Uint8Array[]; done: Promise<void> }>();
  private failedWrites = 0;
  /** Paths of entries found damaged (each is warned of once). */
  private readonly damaged = new Set<string>();
  /** Where a failed write or a damaged entry is reported. */
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

  private reportDamaged(path: string, namespace: string, key: string, why: string): void {
    if (this.damaged.has(path)) return;
    this.damaged.add(path);
    if (this.damaged.size <= NAMED_DAMAGED) {
      this.warn(`model-output cache: entry ${namespace}/${key} (${path}) is damaged: ${why}; it is recomputed and overwritten${this.damaged.size === NAMED_DAMAGED ? ' (further damaged entries are counted, not shown)' : ''}`);
    }
  }

  /** The whole payload of an entry (pending or on disk), or why there is none. */
  private async payload(path: string): Promise<{ bytes: Uint8Array } | { damaged: string } | undefined> {
    const writing = this.pending.get(path);
    // A copy, as a read from disk would give: the caller may change what it got.
    if (writing) return { bytes: writing.data instanceof Uint8Array ? writing.data.slice() : concatBytes(writing.data) };
    let b: Buffer;
    try {
      b = await readFile(path);
    } catch {
      return undefined;
    }
    const u = unframeEntry(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    return u.state === 'whole' ? { bytes: u.payload } : u.state === 'damaged' ? { damaged: u.why } : undefined;
  }

  /**
   * An entry decoded by its reader: `decode` turns the payload into the value or throws when the
   * bytes are not what the reader wrote. A missing, damaged or refused entry is undefined (a miss).
   */
  async read<T>(namespace: string, key: string, decode: (payload: Uint8Array) => T, ext = 'bin'): Promise<T | undefined> {
    const path = this.path(namespace, key, ext);
    const got = await this.payload(path);
    let value: T | undefined;
    if (got && 'damaged' in got) this.reportDamaged(path, namespace, key, got.damaged);
    else if (got) {
      try {
        value = decode(got.bytes);
      } catch (err) {
        this.reportDamaged(path, namespace, key, `not what its reader expects (${(err as Error).message})`);
      }
    }
    this.count(namespace, value !== undefined);
    return value;
  }

  async getBytes(namespace: string, key: string): Promise<Uint8Array | undefined> {
    return this.read(namespace, key, (b) => b);
  }

  /** An npy entry of the expected dtype and shape (its byte length matching its shape exactly). */
  async getNpy(namespace: string, key: string, expect: NpyExpectation): Promise<NpyArray | undefined> {
    return this.read(namespace, key, (b) => checkedNpy(b, expect));
  }

  /**
   * Starts writing the entry (bytes, or chunks written one after another, e.g. npyParts) and
   * returns at once (see the top of this file); `data` must not change afterwards.
   */
  async setBytes(namespace: string, key: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    void this.writeBehind(this.path(namespace, key, 'bin'), data);
  }

  /** Starts the write; the promise settles (never rejects) when it is done or has failed and been counted. */
  private writeBehind(path: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const chunks = data instanceof Uint8Array ? [data] : data;
    const done = writeFileAtomic(path, [entryHeader(chunks), ...chunks]).then(
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
    return done;
  }

  /** Waits for every write handed off so far; answers how many writes have failed and entries were found damaged since this cache was made. */
  async flush(): Promise<{ failedWrites: number; damagedEntries: number }> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()].map((p) => p.done));
    return { failedWrites: this.failedWrites, damagedEntries: this.damaged.size };
  }

  /** A JSON entry that `schema` accepts (the reader's own expectation of its shape), else a miss. */
  async getJson<T>(namespace: string, key: string, schema: ZodType<T, ZodTypeDef, unknown>): Promise<T | undefined> {
    return this.read(namespace, key, (b) => schema.parse(JSON.parse(new TextDecoder().decode(b))), 'json');
  }

  /** Writes behind, as setBytes. */
  async setJson(namespace: string, key: string, value: unknown): Promise<void> {
    void this.writeBehind(this.path(namespace, key, 'json'), new TextEncoder().encode(JSON.stringify(value)));
  }

  /** Returns the cached value, or computes, stores and returns it. */
  async memoJson<T>(namespace: string, keyParts: unknown, schema: ZodType<T, ZodTypeDef, unknown>, compute: () => Promise<T>): Promise<T> {
    const key = this.key(keyParts);
    const hit = await this.getJson(namespace, key, schema);
    if (hit !== undefined) return hit;
    const value = await compute();
    // Waited for: a memoised answer (an LLM's) is few bytes and dear to recompute, so it is on
    // disk for other processes when this returns (a failed write is still only a warning).
    await this.writeBehind(this.path(namespace, key, 'json'), new TextEncoder().encode(JSON.stringify(value)));
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

/** The npy in `bytes` when it is of the expected dtype and shape and its length is exactly its shape's; else throws. */
function checkedNpy(bytes: Uint8Array, expect: NpyExpectation): NpyArray {
  const a = decodeNpy(bytes, 'npy entry');
  if (a.dtype !== expect.dtype) throw new Error(`dtype ${a.dtype}, expected ${expect.dtype}`);
  const size = a.data.BYTES_PER_ELEMENT * a.data.length;
  const body = bytes.byteLength - npyHeaderBytes(bytes);
  if (body !== size) throw new Error(`${body} bytes of values for shape [${a.shape}]`);
  const s = expect.shape;
  if (typeof s === 'function' ? !s(a.shape) : s && (s.length !== a.shape.length || s.some((d, i) => d !== a.shape[i]))) {
    throw new Error(`shape [${a.shape}]${typeof s === 'function' ? ' is not the expected one' : `, expected [${s}]`}`);
  }
  return a;
}

/** Bytes before an npy's values (magic, version, header length, header). */
function npyHeaderBytes(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return bytes[6] === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
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
