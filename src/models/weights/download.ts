/**
 * Resumable, verified downloads. Bytes go to `<file>.part`, with `<file>.part.json` recording the
 * URL, the validator of the response that started it (a strong ETag or Last-Modified) and the
 * expected sha256 and size. The file takes its final name only after its size and sha256 match.
 *
 * - Only `https:` URLs are fetched (also after redirects); plain `http:` only to a loopback
 *   address (a local mirror, the tests).
 * - Expected sha256: the manifest's, else the hub's own. Like huggingface_hub's
 *   get_hf_file_metadata, a HEAD request that does not follow redirects reads `X-Linked-Etag`
 *   (or, from huggingface.co, `ETag`); for files in Git LFS that is the file's sha256. A file
 *   whose bytes do not match is removed and refused. Without either, the file is 'unpinned'.
 * - A partial file is resumed only with `Range` + `If-Range: <its validator>`, and the bytes are
 *   appended only when the answer is a 206 whose Content-Range starts exactly where the file ends
 *   (and agrees on the total); a 200 (the remote changed, or ignores ranges) starts over, a 416 is
 *   taken as "already whole" only when its Content-Range total equals the partial file's size.
 *   A partial file without a validator, for another URL or another expected hash, is discarded.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { UserError } from '../../util/errors.js';
import { writeJsonAtomic } from '../../util/fs-atomic.js';
import { sha256File } from '../../util/hash.js';
import { createProgress } from '../../util/progress.js';

export interface DownloadOptions {
  /** Expected sha256 (hex) or null for unpinned. */
  sha256: string | null;
  size?: number | null;
  label?: string;
  /** Attempts after a dropped connection, each resuming where the last stopped. */
  retries?: number;
  /** Wait before retry n: n * retryDelayMs (default 1000). */
  retryDelayMs?: number;
  quiet?: boolean;
  headers?: Record<string, string>;
  fetchImpl?: typeof fetch;
}

export interface DownloadResult {
  path: string;
  sha256: string;
  bytes: number;
  /** The sha256 was checked against the manifest or the hub. */
  verified: boolean;
  verifiedBy: 'manifest' | 'hub' | null;
  /** Number of HTTP requests that resumed a partial file. */
  resumed: number;
  /** Partial files thrown away (remote changed, invalid range answer, no validator). */
  restarted: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Why a URL may not be fetched, or null when it may: https, or http to a loopback address. */
export function urlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return null;
  return `only https: URLs are fetched (got ${u.protocol}//${u.host})`;
}

function checkUrl(url: string, context = url): void {
  const why = urlProblem(url);
  if (why) throw new UserError(`download ${context}: ${why}`);
}

/** An ETag without weakness marker and quotes, as huggingface_hub normalises it. */
function normalizeEtag(etag: string | null): string | null {
  if (!etag) return null;
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

function isHubHost(url: string): boolean {
  const h = new URL(url).hostname;
  return h === 'huggingface.co' || h.endsWith('.huggingface.co') || h === 'hf.co';
}

/**
 * fetch that follows redirects itself, so that each hop is checked before it is requested (https
 * only) and the Authorization header is not sent to another host.
 */
async function fetchFollowing(url: string, init: RequestInit & { headers: Record<string, string> }, fetchImpl: typeof fetch): Promise<{ res: Response; url: string }> {
  let current = url;
  let headers = init.headers;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetchImpl(current, { ...init, headers, redirect: 'manual' });
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (!location) return { res, url: current };
    await res.body?.cancel().catch(() => undefined);
    const next = new URL(location, current).toString();
    const why = urlProblem(next);
    if (why) throw new UserError(`download ${url}: redirected to ${next}: ${why}`);
    if (new URL(next).host !== new URL(current).host) {
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    }
    current = next;
  }
  throw new UserError(`download ${url}: more than 10 redirects`);
}

export interface RemoteInfo {
  /** sha256 the hub states for the file (Git LFS), or null. */
  sha256: string | null;
  size: number | null;
}

/**
 * What the hub says about a file before downloading it: HEAD without following redirects (a
 * relative redirect is followed, as huggingface_hub does; the first answer that carries
 * X-Linked-Etag / X-Linked-Size is the hub's). Failures give nothing; the GET reports errors.
 */
export async function probeRemote(url: string, headers: Record<string, string>, fetchImpl: typeof fetch): Promise<RemoteInfo> {
  let current = url;
  for (let hop = 0; hop < 5; hop++) {
    let res: Response;
    try {
      res = await fetchImpl(current, { method: 'HEAD', headers: { ...headers, 'Accept-Encoding': 'identity' }, redirect: 'manual' });
    } catch {
      return { sha256: null, size: null };
    }
    await res.body?.cancel().catch(() => undefined);
    const linked = normalizeEtag(res.headers.get('x-linked-etag'));
    const etag = linked ?? (isHubHost(current) ? normalizeEtag(res.headers.get('etag')) : null);
    const sizeHeader = res.headers.get('x-linked-size') ?? (res.status < 300 ? res.headers.get('content-length') : null);
    if (etag !== null || res.status < 300 || res.status >= 400) {
      return {
        sha256: etag && /^[0-9a-f]{64}$/.test(etag) ? etag : null,
        size: sizeHeader && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : null,
      };
    }
    const location = res.headers.get('location');
    if (!location) return { sha256: null, size: null };
    const next = new URL(location, current).toString();
    if (new URL(next).host !== new URL(current).host) return { sha256: null, size: null };
    current = next;
  }
  return { sha256: null, size: null };
}

interface PartMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  sha256: string | null;
  size: number | null;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await stat(p)).size;
  } catch {
    return 0;
  }
}

async function readMeta(p: string): Promise<PartMeta | undefined> {
  try {
    return JSON.parse(await readFile(p, 'utf8')) as PartMeta;
  } catch {
    return undefined;
  }
}

/** The parts of a Content-Range header: `bytes a-b/total`, or `bytes *` + `/total` for a 416. */
function parseContentRange(v: string | null): { start: number | null; end: number | null; total: number | null } | null {
  if (!v) return null;
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(v.trim());
  if (!m) return null;
  return {
    start: m[1] === undefined ? null : Number(m[1]),
    end: m[2] === undefined ? null : Number(m[2]),
    total: m[3] === '*' ? null : Number(m[3]),
  };
}

export async function downloadFile(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  checkUrl(url);
  const part = `${dest}.part`;
  const metaPath = `${part}.json`;
  const fetchImpl = opts.fetchImpl ?? fetch;
  await mkdir(dirname(dest), { recursive: true });
  const retries = opts.retries ?? 5;
  const headers = { ...opts.headers };

  const remote = await probeRemote(url, headers, fetchImpl);
  if (opts.sha256 && remote.sha256 && remote.sha256 !== opts.sha256) {
    throw new UserError(`download ${url}: the server states sha256 ${remote.sha256}, the manifest pins ${opts.sha256}; not downloaded (the remote file changed, or the manifest is wrong)`);
  }
  const expectedSha = opts.sha256 ?? remote.sha256;
  const expectedSize = opts.size ?? remote.size;
  const verifiedBy: DownloadResult['verifiedBy'] = opts.sha256 ? 'manifest' : remote.sha256 ? 'hub' : null;

  let resumed = 0;
  let restarted = 0;
  const discard = async () => {
    await rm(part, { force: true });
    await rm(metaPath, { force: true });
  };
  // A partial file is only kept when it can be resumed safely.
  if ((await fileSize(part)) > 0) {
    const meta = await readMeta(metaPath);
    const have = await fileSize(part);
    const usable =
      meta &&
      meta.url === url &&
      (meta.etag || meta.lastModified) &&
      (meta.sha256 ?? null) === expectedSha &&
      !(expectedSize !== null && have > expectedSize);
    if (!usable) {
      await discard();
      restarted++;
    }
  }

  let progress: ReturnType<typeof createProgress> | undefined;
  let lastError: unknown;
  let whole = false;
  try {
    for (let attempt = 0; attempt <= retries && !whole; attempt++) {
      if (attempt > 0 && lastError !== undefined) await new Promise((r) => setTimeout(r, attempt * (opts.retryDelayMs ?? 1000)));
      const have = await fileSize(part);
      const meta = have > 0 ? await readMeta(metaPath) : undefined;
      const req: Record<string, string> = { ...headers };
      if (have > 0 && meta) {
        req.Range = `bytes=${have}-`;
        req['If-Range'] = meta.etag ?? meta.lastModified!;
      }
      let res: Response;
      try {
        res = (await fetchFollowing(url, { headers: req }, fetchImpl)).res;
      } catch (err) {
        if (err instanceof UserError) throw err;
        lastError = err;
        continue;
      }
      if (res.status === 416 && have > 0) {
        await res.body?.cancel().catch(() => undefined);
        const cr = parseContentRange(res.headers.get('content-range'));
        if (cr?.total === have && (expectedSize === null || expectedSize === have)) {
          whole = true; // the partial file is the whole file; the hash decides below
          lastError = undefined;
          break;
        }
        await discard();
        restarted++;
        lastError = new Error(`HTTP 416 with Content-Range '${res.headers.get('content-range')}' for a ${have}-byte partial file`);
        continue;
      }
      if (!(res.status === 200 || res.status === 206)) {
        await res.body?.cancel().catch(() => undefined);
        throw new UserError(`download ${url}: HTTP ${res.status} ${res.statusText}`);
      }
      let append = false;
      if (res.status === 206) {
        const cr = parseContentRange(res.headers.get('content-range'));
        const ok =
          have > 0 &&
          cr !== null &&
          cr.start === have &&
          (cr.total === null || expectedSize === null || cr.total === expectedSize) &&
          (cr.total === null || meta?.size == null || cr.total === meta.size);
        if (!ok) {
          await res.body?.cancel().catch(() => undefined);
          await discard();
          restarted++;
          lastError = new Error(`HTTP 206 with Content-Range '${res.headers.get('content-range')}' does not continue a ${have}-byte partial file`);
          continue;
        }
        append = true;
        resumed++;
      } else {
        // 200: the whole file (the remote changed since the partial file, or ranges are ignored).
        if (have > 0) restarted++;
        const etag = res.headers.get('etag');
        const fresh: PartMeta = {
          url,
          etag: etag && !etag.startsWith('W/') ? etag : undefined,
          lastModified: res.headers.get('last-modified') ?? undefined,
          sha256: expectedSha,
          size: expectedSize ?? (Number(res.headers.get('content-length')) || null),
        };
        await writeJsonAtomic(metaPath, fresh);
      }
      const len = Number(res.headers.get('content-length') ?? 0);
      const total = expectedSize ?? (len ? (append ? have + len : len) : 0);
      if (!progress) progress = createProgress(opts.label ?? dest, total, { quiet: opts.quiet });
      if (append) progress.tick(have);
      const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
      try {
        if (!res.body) throw new Error('empty response body');
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (!out.write(chunk)) await once(out, 'drain');
          progress.tick(chunk.byteLength);
        }
        out.end();
        await once(out, 'finish');
        lastError = undefined;
        whole = true;
      } catch (err) {
        lastError = err;
        out.end();
        await once(out, 'close').catch(() => undefined);
      }
    }
  } finally {
    progress?.stop();
  }
  if (!whole) {
    const e = (lastError ?? new Error('no complete answer')) as Error & { cause?: { code?: string; message?: string } };
    const why = `${e.message ?? e}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
    throw new UserError(
      `download ${url}: ${why} after ${retries + 1} attempts; ${await fileSize(part)} bytes kept in ${part}, run the pull again to resume`,
    );
  }
  const bytes = await fileSize(part);
  if (expectedSize && bytes !== expectedSize) {
    if (bytes > expectedSize) await discard();
    const source = opts.size ? 'the manifest says' : 'the server stated';
    throw new UserError(`download ${url}: got ${bytes} bytes, ${source} ${expectedSize}${bytes > expectedSize ? ' (partial file removed)' : '; run the pull again to resume'}`);
  }
  const hash = await sha256File(part);
  if (expectedSha && hash !== expectedSha) {
    await discard();
    const source = verifiedBy === 'manifest' ? "the manifest's" : "the hub's (X-Linked-Etag)";
    throw new UserError(`download ${url}: sha256 ${hash} does not match ${source} ${expectedSha}; the file was removed`);
  }
  await rename(part, dest);
  await rm(metaPath, { force: true });
  return { path: dest, sha256: hash, bytes, verified: expectedSha !== null, verifiedBy, resumed, restarted };
}
