/**
 * A pinned model file that does not match its pin stops a build before any load; the override
 * runs it with a warning and records the actual hash; hashes are stamped by size + mtime.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetHashes, hashStats, stampedSha256 } from '../../../src/models/weights/hash-stamp.js';
import type { Manifest } from '../../../src/models/weights/manifest.js';
import { checkModelFile, ModelMismatchError } from '../../../src/models/weights/pins.js';
import { modelStatus } from '../../../src/models/weights/resolve.js';

let root: string;
let modelsDir: string;
let file: string;
let manifest: Manifest;
const good = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 251));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-pins-'));
  modelsDir = join(root, 'models');
  file = join(modelsDir, 'tiny-net', 'net.onnx');
  await mkdir(join(modelsDir, 'tiny-net'), { recursive: true });
  manifest = {
    version: 1,
    models: {
      'tiny-net': {
        description: 'test',
        format: 'onnx',
        license: 'MIT',
        source: 'test',
        files: [{ path: 'net.onnx', url: null, sha256: createHash('sha256').update(good).digest('hex'), size: good.length }],
      },
    },
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pinned model files', () => {
  it('a file corrupted at the same size is refused, naming it, both hashes and the fix; the override runs it and records the actual hash', async () => {
    const bad = Buffer.from(good);
    bad[100] ^= 0xff;
    await writeFile(file, bad);
    const actual = createHash('sha256').update(bad).digest('hex');
    const expected = manifest.models['tiny-net'].files[0].sha256!;
    const err = await checkModelFile(file, { modelsDir, manifest }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ModelMismatchError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(`expected ${expected}`);
    expect((err as Error).message).toContain(`actual   ${actual}`);
    expect((err as Error).message).toMatch(/iapas models pull tiny-net --models-dir .*--allow-model-mismatch/s);

    const warnings: string[] = [];
    const rec = await checkModelFile(file, { modelsDir, manifest, allowMismatch: true, warn: (m) => warnings.push(m) });
    expect(rec).toEqual({ path: file, sha256: actual, bytes: bad.length, expected_sha256: expected });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(file);
    // `models list` says the same of it.
    expect((await modelStatus('tiny-net', modelsDir, manifest)).state).toBe('corrupt');

    await writeFile(file, good);
    expect(await checkModelFile(file, { modelsDir, manifest })).toEqual({ path: file, sha256: expected, bytes: good.length });
    expect((await modelStatus('tiny-net', modelsDir, manifest)).state).toBe('present');
  });

  it('hashes once per file: a second check (even by a fresh process, from the stamp) does not re-hash; a touched or changed file is re-hashed', async () => {
    await writeFile(file, good);
    forgetHashes();
    const stamp = { dir: join(modelsDir, 'tiny-net'), key: 'net.onnx' };
    const before = hashStats.files;
    await stampedSha256(file, stamp);
    expect(hashStats.files).toBe(before + 1);
    await stampedSha256(file, stamp);
    forgetHashes(); // a fresh process: only the stamp on disk
    await checkModelFile(file, { modelsDir, manifest });
    expect(hashStats.files).toBe(before + 1);
    expect(JSON.parse(await readFile(join(modelsDir, 'tiny-net', '.iapas-verified.json'), 'utf8'))['net.onnx'].path).toBe(file);

    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    await checkModelFile(file, { modelsDir, manifest });
    expect(hashStats.files).toBe(before + 2);

    // Changed in place at the same size: its mtime moves, so it is re-hashed and refused.
    const bad = Buffer.from(good);
    bad[7] ^= 1;
    await writeFile(file, bad);
    await expect(checkModelFile(file, { modelsDir, manifest })).rejects.toBeInstanceOf(ModelMismatchError);
    expect(hashStats.files).toBe(before + 3);
  });
});
