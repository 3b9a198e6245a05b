import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Stable hash of a JSON-able value: object keys are sorted so that key order never changes a cache key. */
export function hashJson(value: unknown): string {
  return sha256(stableStringify(value));
}

export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return JSON.stringify({ $typed: value.constructor.name, sha256: sha256(bytes) });
  }
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const keys = Object.keys(value as object).sort();
  return `{${keys
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

const fileHashMemo = new Map<string, { size: number; mtimeMs: number; hash: string }>();

/**
 * sha256 of a file's bytes, streamed (model files are GBs). Memoised per process on
 * (path, size, mtime) so a run hashes each model once.
 */
export async function sha256File(path: string): Promise<string> {
  const st = await stat(path);
  const memo = fileHashMemo.get(path);
  if (memo && memo.size === st.size && memo.mtimeMs === st.mtimeMs) return memo.hash;
  const hash = await new Promise<string>((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
  fileHashMemo.set(path, { size: st.size, mtimeMs: st.mtimeMs, hash });
  return hash;
}
