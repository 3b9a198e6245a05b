/**
 * Resumable, verified downloads. Bytes go to `<file>.part`; an interrupted transfer (dropped
 * connection, killed process) resumes with an HTTP Range request; the file takes its final name
 * only after its sha256 matches the manifest (or, when the manifest pins none, the computed hash is
 * reported as unpinned).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { UserError } from '../../util/errors.js';
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
  verified: boolean;
  /** Number of HTTP requests that resumed a partial file. */
  resumed: number;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await stat(p)).size;
  } catch {
    return 0;
  }
}

export async function downloadFile(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const fetchImpl = opts.fetchImpl ?? fetch;
  await mkdir(dirname(dest), { recursive: true });
  const retries = opts.retries ?? 5;
  let resumed = 0;
  let progress: ReturnType<typeof createProgress> | undefined;
  let lastError: unknown;
  try {
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, attempt * (opts.retryDelayMs ?? 1000)));
      const have = await fileSize(part);
      const headers: Record<string, string> = { ...opts.headers };
      if (have > 0) headers.Range = `bytes=${have}-`;
      let res: Response;
      try {
        res = await fetchImpl(url, { headers, redirect: 'follow' });
      } catch (err) {
        lastError = err;
        continue;
      }
      if (res.status === 416 && have > 0) break; // the partial file is already whole
      if (!(res.status === 200 || res.status === 206)) {
        await res.body?.cancel();
        throw new UserError(`download ${url}: HTTP ${res.status} ${res.statusText}`);
      }
      const append = res.status === 206 && have > 0;
      if (append) resumed++;
      const len = Number(res.headers.get('content-length') ?? 0);
      const total = opts.size ?? (len ? (append ? have + len : len) : 0);
      if (!progress) {
        progress = createProgress(opts.label ?? dest, total, { quiet: opts.quiet });
        if (append) progress.tick(have);
      }
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
        break;
      } catch (err) {
        lastError = err;
        out.end();
        await once(out, 'close').catch(() => undefined);
      }
    }
  } finally {
    progress?.stop();
  }
  if (lastError) {
    const e = lastError as Error & { cause?: { code?: string; message?: string } };
    const why = `${e.message ?? e}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
    throw new UserError(
      `download ${url}: ${why} after ${retries + 1} attempts; ${await fileSize(part)} bytes kept in ${part}, run the pull again to resume`,
    );
  }
  const bytes = await fileSize(part);
  if (opts.size && bytes !== opts.size) {
    if (bytes > opts.size) await rm(part, { force: true });
    throw new UserError(`download ${url}: got ${bytes} bytes, the manifest says ${opts.size}${bytes > opts.size ? ' (partial file removed)' : '; run the pull again to resume'}`);
  }
  const hash = await sha256File(part);
  if (opts.sha256 && hash !== opts.sha256) {
    await rm(part, { force: true });
    throw new UserError(`download ${url}: sha256 ${hash} does not match the manifest's ${opts.sha256}; the file was removed`);
  }
  await rename(part, dest);
  return { path: dest, sha256: hash, bytes, verified: opts.sha256 !== null, resumed };
}
