/**
 * A model file's sha256, hashed once and then trusted while its size and mtime stay the same: a
 * run checks every model file it uses against the manifest's pins (pins.ts), and re-hashing
 * gigabytes per run would cost more than the run.
 *
 * The stamp is <stamp dir>/.iapas-verified.json: per manifest path, the size, mtime and sha256
 * seen when the file was hashed (and the hub's sha256 when it was pulled against one), with the
 * absolute path hashed, so a stamp of one location is never taken for a file of another. Within a
 * process the answers are kept in memory as well. A stamp that cannot be written is no error:
 * the file is hashed again next time.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '../../util/fs-atomic.js';
import { sha256File } from '../../util/hash.js';

export const STAMP_FILE = '.iapas-verified.json';

export interface StampEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
  /** The sha256 the hub stated when the file was pulled (for files the manifest does not pin). */
  hubSha256?: string;
  /** The file that was hashed (absent in stamps of earlier versions: the file beside the stamp). */
  path?: string;
}

export type Stamp = Record<string, StampEntry>;

/** Files hashed by this process (not answered from a stamp): what a check really cost. */
export const hashStats = { files: 0, bytes: 0 };

const memory = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

export async function readStamp(dir: string): Promise<Stamp> {
  try {
    return JSON.parse(await readFile(join(dir, STAMP_FILE), 'utf8')) as Stamp;
  } catch {
    return {};
  }
}

/** Records a file's hash in its stamp; keeps what else the stamp held (the hub's hash unless given anew). */
export async function recordHash(
  stampDir: string,
  key: string,
  absPath: string,
  sha256: string,
  hubSha256?: string,
  /** The file's size and mtime before it was hashed (a change while hashing then shows next time). */
  seen?: { size: number; mtimeMs: number },
): Promise<void> {
  const st = seen ?? (await stat(absPath));
  const stamp = await readStamp(stampDir);
  const hub = hubSha256 ?? stamp[key]?.hubSha256;
  stamp[key] = { size: st.size, mtimeMs: st.mtimeMs, sha256, path: resolve(absPath), ...(hub ? { hubSha256: hub } : {}) };
  await writeJsonAtomic(join(stampDir, STAMP_FILE), stamp);
  memory.set(resolve(absPath), { size: st.size, mtimeMs: st.mtimeMs, sha256 });
}

function stampFits(s: StampEntry | undefined, absPath: string, stampDir: string, key: string, st: { size: number; mtimeMs: number }): s is StampEntry {
  if (!s || s.size !== st.size || s.mtimeMs !== st.mtimeMs) return false;
  return (s.path ?? join(resolve(stampDir), key)) === absPath;
}

/**
 * The sha256 of a file: from memory or its stamp when size and mtime are those stamped, else
 * hashed and (when `stamp` is given and `write` is not false) stamped.
 */
export async function stampedSha256(file: string, stamp?: { dir: string; key: string; write?: boolean }): Promise<string> {
  const absPath = resolve(file);
  const st = await stat(absPath);
  const known = memory.get(absPath);
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.sha256;
  if (stamp) {
    const s = (await readStamp(stamp.dir))[stamp.key];
    if (stampFits(s, absPath, stamp.dir, stamp.key, st)) {
      memory.set(absPath, { size: st.size, mtimeMs: st.mtimeMs, sha256: s.sha256 });
      return s.sha256;
    }
  }
  const sha256 = await sha256File(absPath);
  hashStats.files++;
  hashStats.bytes += st.size;
  memory.set(absPath, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  if (stamp && stamp.write !== false) await recordHash(stamp.dir, stamp.key, absPath, sha256, undefined, st).catch(() => undefined);
  return sha256;
}

/** Forgets what this process has hashed (tests: a fresh process's view of the stamps). */
export function forgetHashes(): void {
  memory.clear();
}
