/**
 * The on-disk frame of one model-output cache entry: a fixed 128-byte ASCII header, then the
 * payload (the bytes the reader gets).
 *
 *   iapas-cache/2 <payload bytes> <sha256 of the payload, hex>   (space-padded, ends in '\n')
 *
 * The length and checksum let a reader tell a whole entry from a truncated or overwritten one
 * (a full disk, a killed copy, an edit in place), so such an entry is a miss, never an input.
 * 128 bytes keep the payload at the file's 8-byte alignment, as before the header existed.
 */
import { createHash } from 'node:crypto';

export const ENTRY_FORMAT = 'iapas-cache/2';
export const HEADER_BYTES = 128;

/** The header for a payload given as chunks written one after another. */
export function entryHeader(chunks: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  let length = 0;
  for (const c of chunks) {
    h.update(c);
    length += c.byteLength;
  }
  const line = `${ENTRY_FORMAT} ${length} ${h.digest('hex')}`;
  return new TextEncoder().encode(line.padEnd(HEADER_BYTES - 1, ' ') + '\n');
}

export type Unframed =
  | { state: 'whole'; payload: Uint8Array }
  /** Written by an earlier version (no header, or another format): a plain miss. */
  | { state: 'stale' }
  | { state: 'damaged'; why: string };

/** The payload of an entry's bytes, after checking its length and checksum. */
export function unframeEntry(bytes: Uint8Array): Unframed {
  const prefix = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.byteLength, HEADER_BYTES)));
  if (!prefix.startsWith('iapas-cache/')) return { state: 'stale' };
  if (!prefix.startsWith(ENTRY_FORMAT + ' ')) return { state: 'stale' };
  if (bytes.byteLength < HEADER_BYTES) return { state: 'damaged', why: `truncated inside its header (${bytes.byteLength} bytes)` };
  const m = /^iapas-cache\/2 (\d+) ([0-9a-f]{64}) *\n$/.exec(prefix);
  if (!m) return { state: 'damaged', why: 'unreadable header' };
  const payload = bytes.subarray(HEADER_BYTES);
  const length = Number(m[1]);
  if (payload.byteLength !== length) return { state: 'damaged', why: `${payload.byteLength} bytes of payload, its header says ${length}` };
  if (createHash('sha256').update(payload).digest('hex') !== m[2]) return { state: 'damaged', why: 'checksum mismatch (changed after it was written)' };
  return { state: 'whole', payload };
}
