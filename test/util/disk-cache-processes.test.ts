/**
 * Sweep workers share one model-output cache: two processes writing the same keys at the same
 * time must never let a reader see half an entry. Entries are written to a temporary file and
 * renamed over the target (util/fs-atomic.ts); this runs two real processes against one cache.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskCache } from '../../src/util/disk-cache.js';
import { REPO_ROOT } from '../support/shared.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-cache-procs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface WriterReport {
  writes: number;
  reads: number;
  torn: number;
  errors: string[];
}

function writer(id: number, writes: number, startAt: number): Promise<WriterReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/support/cache-writer.ts'), root, String(id), String(writes), String(startAt)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as WriterReport) : reject(new Error(`writer ${id} exited ${code}: ${err}`))));
  });
}

describe('the disk cache under two processes', () => {
  it('never shows a reader a torn entry and leaves no temporary file', async () => {
    const startAt = Date.now() + 4000; // both processes are up (tsx loaded) by then
    const [a, b] = await Promise.all([writer(1, 150, startAt), writer(2, 150, startAt)]);
    for (const r of [a, b]) {
      expect(r.errors).toEqual([]);
      expect(r.writes).toBe(150);
      expect(r.reads).toBeGreaterThan(100); // the first reads may find a key not written yet
      expect(r.torn).toBe(0);
    }
    const files = (await readdir(join(root, 'stress'), { recursive: true })).filter((f) => /\.(bin|tmp)$/.test(f));
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files).toHaveLength(4);
    // Each key holds one whole entry, written last by one of the two.
    const cache = new DiskCache(root);
    for (const k of ['k0', 'k1', 'k2', 'k3']) {
      const b = (await cache.getBytes('stress', k))!;
      expect(createHash('sha256').update(b.subarray(32)).digest().equals(Buffer.from(b.subarray(0, 32)))).toBe(true);
    }
  });
});
