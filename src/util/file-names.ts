/**
 * Names from datasets (category names, image paths) as file names that are safe and unique: the
 * mapping is injective, so two different names never share a file, and a name cannot leave the
 * folder it is written into.
 *
 * - Letters and digits (any script), `_` and `-` are kept; `.` is kept in the last segment only;
 *   every other character (space, `%`, `~`, punctuation, `.` in a folder segment) is written as
 *   `%XX`, its UTF-8 bytes in upper-case hex, as in a URL. `a b` -> `a%20b`, `a_b` -> `a_b`.
 * - A folder segment never contains a `.` and every output file has an extension, so a file can
 *   never take the name a folder needs (`a.npy` the map vs `a.npy/` the folder of `a.npy/x`).
 * - `.` and `..` as a whole segment are escaped like any dot, so nothing climbs out.
 * - A segment whose escaped form would exceed MAX_SEGMENT_BYTES keeps its first bytes and ends in
 *   `%~` + 16 hex digits of its sha256: `%~` never appears otherwise.
 *
 * Names made only of ASCII letters, digits, `_`, `-` (and dots in the file part), which is what
 * benchmark datasets use, map to themselves.
 */
import { sha256 } from './hash.js';

/** Room for an output suffix such as `.heatmap.png` within the usual 255-byte limit. */
export const MAX_SEGMENT_BYTES = 200;

const KEEP = /^[\p{L}\p{N}_-]$/u;

function escapeChar(c: string): string {
  return [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

function escapeOne(segment: string, last: boolean): string {
  if (segment === '') return '%';
  let out = '';
  for (const c of segment) out += KEEP.test(c) || (last && c === '.' && segment !== '.' && segment !== '..') ? c : escapeChar(c);
  if (Buffer.byteLength(out) <= MAX_SEGMENT_BYTES) return out;
  // Cut on a character boundary that does not split an escape.
  let cut = out.slice(0, MAX_SEGMENT_BYTES - 18);
  const pct = cut.lastIndexOf('%');
  if (pct >= 0 && pct > cut.length - 3) cut = cut.slice(0, pct);
  while (Buffer.byteLength(cut) > MAX_SEGMENT_BYTES - 18) cut = cut.slice(0, -1);
  return `${cut}%~${sha256(segment).slice(0, 16)}`;
}

/** One path segment (a category name, a file stem) as a file or folder name. */
export function escapeSegment(name: string, opts: { folder?: boolean } = {}): string {
  return escapeOne(name, !opts.folder);
}

/**
 * A '/'-separated relative name (a sample's relId) as a relative path: every folder segment and
 * the last segment escaped, joined with '/'.
 */
export function escapeRelPath(rel: string): string {
  const parts = rel.split('/');
  return parts.map((p, i) => escapeOne(p, i === parts.length - 1)).join('/');
}

/** Whether `path` is what escapeRelPath gives for some name (so it may belong to another sample). */
export function isEscapedRelPath(path: string): boolean {
  const parts = path.split('/');
  return parts.every((p, i) => {
    if (p === '%') return true;
    const last = i === parts.length - 1;
    const body = p.replace(/%~[0-9a-f]{16}$/, '');
    if (!last && body.includes('.')) return false;
    if (last && (p === '.' || p === '..')) return false;
    return /^(?:[\p{L}\p{N}_.-]|%[0-9A-F]{2})*$/u.test(body);
  });
}
