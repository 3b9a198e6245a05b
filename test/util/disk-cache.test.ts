import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskCache } from '../../src/util/disk-cache.js';
import { decodeNpy, encodeNpy, npyParts } from '../../src/util/npy.js';
import { runCli } from '../support/cli.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-cache-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('temporary files orphaned by a killed run', () => {
  it('cache info counts them apart; cache clear --stale removes those of gone writers and keeps live ones and entries', async () => {
    const cache = new DiskCache(join(root, 'c'));
    await cache.setJson('sam-mask', 'ab12', { x: 1 });
    const dir = join(root, 'c', 'sam-mask', 'ab');
    await mkdir(dir, { recursive: true });
    const old = new Date(Date.now() - 5 * 60_000);
    // A writer that is gone (no such pid) five minutes ago; one that is alive (this process) and
    // busy right now; and one of a gone writer that is only a second old (maybe still being renamed).
    const dead = join(dir, 'ab34.json.4194311.0123abcd.tmp');
    const live = join(dir, 'ab56.json.' + process.pid + '.89abcdef.tmp');
    const young = join(dir, 'ab78.json.4194311.fedcba98.tmp');
    for (const f of [dead, live, young]) await writeFile(f, 'partial');
    await utimes(dead, old, old);
    await utimes(live, old, old);

    expect((await cache.size()).get('sam-mask')).toEqual({ files: 1, bytes: 7 });
    expect((await cache.staleTemps()).map((t) => t.path)).toEqual([dead]);
    const info = await runCli(['cache', 'info', '--cache-dir', join(root, 'c')]);
    expect(info.stdout).toMatch(/1 temporary file\(s\) of unfinished writes .*cache clear --stale/);

    const r = await runCli(['cache', 'clear', '--stale', '--cache-dir', join(root, 'c')]);
    expect(r.stdout).toMatch(/removed 1 stale temporary file/);
    expect((await readdir(dir)).sort()).toEqual(['ab12.json', 'ab56.json.' + process.pid + '.89abcdef.tmp', 'ab78.json.4194311.fedcba98.tmp'].sort());
    // An hour later any temporary file is stale, whoever wrote it.
    expect((await cache.staleTemps(Date.now() + 2 * 3_600_000)).length).toBe(2);
  });
});

describe('writes behind the pipeline', () => {
  it('setBytes returns before the entry is on disk, a read meanwhile gets the bytes, flush puts it on disk', async () => {
    const cache = new DiskCache(join(root, 'behind'));
    const data = new Uint8Array([1, 2, 3, 4]);
    await cache.setBytes('ns', 'cafe01', data);
    expect(await cache.getBytes('ns', 'cafe01')).toEqual(data);
    expect(await cache.flush()).toEqual({ failedWrites: 0 });
    // Another cache object (another process) reads it from disk.
    expect(await new DiskCache(join(root, 'behind')).getBytes('ns', 'cafe01')).toEqual(data);
  });

  it('a failed write is one warning and a count, never an error of the caller', async () => {
    const file = join(root, 'not-a-dir');
    await writeFile(file, 'x');
    const cache = new DiskCache(file);
    const warnings: string[] = [];
    cache.warn = (m) => warnings.push(m);
    await cache.setBytes('ns', 'beef01', new Uint8Array([1]));
    await cache.setBytes('ns', 'beef02', new Uint8Array([2]));
    expect(await cache.flush()).toEqual({ failedWrites: 2 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/model-output cache: .*not-a-dir.*results are unaffected/);
    expect(await cache.getBytes('ns', 'beef01')).toBeUndefined();
  });

  it('writes an array as npy chunks (header + a view of its own bytes): the same file as the one-piece encoding', async () => {
    const cache = new DiskCache(join(root, 'chunks'));
    const map = Float32Array.from({ length: 6 * 5 }, (_, i) => i / 7);
    const parts = npyParts(map.subarray(0, 30), [6, 5]);
    expect(parts[1].buffer).toBe(map.buffer); // no copy of the values
    await cache.setBytes('ns', 'c0ffee', parts);
    const pendingRead = await cache.getBytes('ns', 'c0ffee');
    await cache.flush();
    const fromDisk = await new DiskCache(join(root, 'chunks')).getBytes('ns', 'c0ffee');
    for (const b of [pendingRead!, fromDisk!]) {
      expect(Buffer.from(b).equals(Buffer.from(encodeNpy(map, [6, 5])))).toBe(true);
      expect(decodeNpy(b).data).toEqual(map);
    }
  });
});
