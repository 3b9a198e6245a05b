import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HEADER_BYTES } from '../../src/util/cache-entry.js';
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
    await cache.flush();
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

    expect((await cache.size()).get('sam-mask')).toEqual({ files: 1, bytes: HEADER_BYTES + 7 });
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
    expect(await cache.flush()).toEqual({ failedWrites: 0, damagedEntries: 0 });
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
    expect(await cache.flush()).toEqual({ failedWrites: 2, damagedEntries: 0 });
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

describe('what is read is not believed', () => {
  const entryPath = (dir: string, ns: string, key: string, ext = 'bin') => join(root, dir, ns, key.slice(0, 2), `${key}.${ext}`);
  function watched(dir: string): { cache: DiskCache; warnings: string[] } {
    const cache = new DiskCache(join(root, dir));
    const warnings: string[] = [];
    cache.warn = (m) => warnings.push(m);
    return { cache, warnings };
  }

  it('a truncated entry is a miss with one warning naming it; once rewritten it is a hit again', async () => {
    const { cache } = watched('trunc');
    const map = Float32Array.from({ length: 4 * 6 }, (_, i) => i);
    await cache.setBytes('fewshot-map', 'aa01', npyParts(map, [4, 6]));
    await cache.flush();
    const path = entryPath('trunc', 'fewshot-map', 'aa01');
    await truncate(path, (await stat(path)).size - 10);
    const { cache: reader, warnings } = watched('trunc');
    expect(await reader.getNpy('fewshot-map', 'aa01', { dtype: '<f4', shape: [4, 6] })).toBeUndefined();
    expect(await reader.getNpy('fewshot-map', 'aa01', { dtype: '<f4', shape: [4, 6] })).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('fewshot-map/aa01');
    expect(warnings[0]).toMatch(/damaged: .*payload.*recomputed and overwritten/);
    expect(reader.stats.get('fewshot-map')).toEqual({ hits: 0, misses: 2 });
    await reader.setBytes('fewshot-map', 'aa01', npyParts(map, [4, 6]));
    await reader.flush();
    expect((await watched('trunc').cache.getNpy('fewshot-map', 'aa01', { dtype: '<f4', shape: [4, 6] }))!.data).toEqual(map);
  });

  it('an entry changed in place at the same size fails its checksum', async () => {
    const { cache } = watched('inplace');
    await cache.setBytes('ns', 'bb01', encodeNpy(Float32Array.from([1, 2, 3, 4]), [2, 2]));
    await cache.flush();
    const path = entryPath('inplace', 'ns', 'bb01');
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 0x40;
    await writeFile(path, bytes);
    const { cache: reader, warnings } = watched('inplace');
    expect(await reader.getBytes('ns', 'bb01')).toBeUndefined();
    expect(warnings[0]).toMatch(/ns\/bb01 .*checksum mismatch/);
    expect(await reader.flush()).toEqual({ failedWrites: 0, damagedEntries: 1 });
  });

  it("an npy entry of another shape or dtype than its reader's, or whose header claims more values than it holds, is a miss", async () => {
    const { cache, warnings } = watched('shape');
    await cache.setBytes('ns', 'cc01', encodeNpy(Float32Array.from({ length: 6 }, (_, i) => i), [2, 3]));
    // Whole as an entry (its checksum is of these bytes), but the npy inside says 8 values for 6.
    const lying = encodeNpy(Float32Array.from({ length: 6 }, (_, i) => i), [2, 3]);
    lying.set(new TextEncoder().encode("'shape': (2, 4), "), new TextDecoder('latin1').decode(lying).indexOf("'shape'"));
    await cache.setBytes('ns', 'cc02', lying);
    await cache.flush();
    const reader = watched('shape');
    expect(await reader.cache.getNpy('ns', 'cc01', { dtype: '<f4', shape: [3, 2] })).toBeUndefined();
    expect(await reader.cache.getNpy('ns', 'cc01', { dtype: '<f8' })).toBeUndefined();
    expect(await reader.cache.getNpy('ns', 'cc02', { dtype: '<f4' })).toBeUndefined();
    expect(reader.warnings.join('\n')).toMatch(/ns\/cc01 .*shape \[2,3\], expected \[3,2\]/);
    expect(reader.warnings.join('\n')).toMatch(/ns\/cc02 .*truncated/);
    expect((await reader.cache.getNpy('ns', 'cc01', { dtype: '<f4', shape: [2, 3] }))!.shape).toEqual([2, 3]);
    expect(warnings).toEqual([]);
  });

  it('a JSON entry its reader does not accept (or cannot parse) is a miss, never a throw', async () => {
    const { cache } = watched('json');
    const schema = z.object({ counts: z.array(z.number()) });
    await cache.setJson('sam-prompt-mask', 'dd01', { counts: 'not an array' });
    await cache.setJson('sam-prompt-mask', 'dd02', { counts: [1, 2] });
    await cache.flush();
    const path = entryPath('json', 'sam-prompt-mask', 'dd02', 'json');
    const bytes = await readFile(path);
    bytes[bytes.length - 2] = '}'.charCodeAt(0); // same size: the checksum catches it before JSON.parse
    await writeFile(path, bytes);
    const reader = watched('json');
    expect(await reader.cache.getJson('sam-prompt-mask', 'dd01', schema)).toBeUndefined();
    expect(await reader.cache.getJson('sam-prompt-mask', 'dd02', schema)).toBeUndefined();
    expect(reader.warnings).toHaveLength(2);
    expect(reader.warnings[0]).toMatch(/sam-prompt-mask\/dd01 .*not what its reader expects/);
    // memoJson recomputes a refused entry and stores the new value.
    let computed = 0;
    const v = await reader.cache.memoJson('sam-prompt-mask', { k: 1 }, schema, async () => ({ counts: [++computed] }));
    expect(v).toEqual({ counts: [1] });
    expect(await reader.cache.memoJson('sam-prompt-mask', { k: 1 }, schema, async () => ({ counts: [++computed] }))).toEqual({ counts: [1] });
    expect(computed).toBe(1);
  });

  it('an entry of an earlier version (no header) is a plain miss, without a warning, overwritten by the next write', async () => {
    const { cache, warnings } = watched('old');
    const path = entryPath('old', 'fewshot-map', 'ee01');
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, encodeNpy(Float32Array.from([1, 2]), [1, 2]));
    expect(await cache.getNpy('fewshot-map', 'ee01', { dtype: '<f4' })).toBeUndefined();
    expect(warnings).toEqual([]);
    await cache.setBytes('fewshot-map', 'ee01', encodeNpy(Float32Array.from([3, 4]), [1, 2]));
    await cache.flush();
    expect((await watched('old').cache.getNpy('fewshot-map', 'ee01', { dtype: '<f4' }))!.data).toEqual(Float32Array.from([3, 4]));
  });

  it('a JSON write that fails is a warning, not an error of the caller', async () => {
    const file = join(root, 'json-not-a-dir');
    await writeFile(file, 'x');
    const cache = new DiskCache(file);
    const warnings: string[] = [];
    cache.warn = (m) => warnings.push(m);
    await cache.setJson('sam-mask', 'ff01', { a: 1 });
    await expect(cache.memoJson('sam-mask', { b: 2 }, z.object({ b: z.number() }), async () => ({ b: 2 }))).resolves.toEqual({ b: 2 });
    expect(await cache.flush()).toEqual({ failedWrites: 2, damagedEntries: 0 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/json-not-a-dir.*results are unaffected/);
  });
});
