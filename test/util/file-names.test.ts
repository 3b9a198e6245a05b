import { describe, expect, it } from 'vitest';
import { escapeRelPath, escapeSegment, isEscapedRelPath, MAX_SEGMENT_BYTES } from '../../src/util/file-names.js';
import { uniqueNames } from '../../src/util/unique-names.js';
import { writeFileAtomic } from '../../src/util/fs-atomic.js';
import { WriteError } from '../../src/util/errors.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('escaped file names (injective, never leaving their folder)', () => {
  it('keeps ordinary names and escapes the rest', () => {
    expect(escapeRelPath('test/crack/000')).toBe('test/crack/000');
    expect(escapeRelPath('test/colour/a b')).toBe('test/colour/a%20b');
    expect(escapeRelPath('test/colour/a_b')).toBe('test/colour/a_b');
    expect(escapeRelPath('test/good/dup.jpg')).toBe('test/good/dup.jpg');
    expect(escapeRelPath('v1.2/x')).toBe('v1%2E2/x'); // a folder never holds a dot
    expect(escapeRelPath('../../etc/passwd')).toBe('%2E%2E/%2E%2E/etc/passwd');
    expect(escapeRelPath('a/..')).toBe('a/%2E%2E');
    expect(escapeSegment('..', { folder: true })).toBe('%2E%2E');
    expect(escapeSegment('50%')).toBe('50%25');
    expect(escapeSegment('défaut_缺陷')).toBe('défaut_缺陷');
  });

  it('never maps two names to one file, and never a file onto a folder', () => {
    const names = ['a b', 'a_b', 'a%20b', 'a%2520b', 'a.npy', 'a.npy/x', 'a', 'a/b', 'a_/b', '.', '..', '', 'x'.repeat(300), 'x'.repeat(299) + 'y', 'Ä', 'A\u0308'];
    const out = names.map(escapeRelPath);
    expect(new Set(out).size).toBe(names.length);
    // Files get an extension, folders hold no dot: a file name is never a folder name.
    const fileNames = new Set(out.map((o) => `${o}.npy`));
    for (const o of out) for (const folder of o.split('/').slice(0, -1)) expect(fileNames.has(folder)).toBe(false);
    for (const o of out) for (const seg of o.split('/')) expect(Buffer.byteLength(seg)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    for (const o of out) expect(isEscapedRelPath(o)).toBe(true);
    expect(isEscapedRelPath('a b')).toBe(false);
  });

  it('uniqueNames moves only the names that are shared, and is independent of order', () => {
    const items = ['x.jpg', 'x.png', 'x.jpg.png', 'y.png'];
    const cand = (f: string) => [f.replace(/\.[^.]+$/, ''), f];
    const a = uniqueNames(items, cand).names;
    expect(a).toEqual(['x.jpg', 'x.png', 'x.jpg.png', 'y']);
    const b = uniqueNames([...items].reverse(), cand).names.reverse();
    expect(b).toEqual(a);
  });

  it('a failed atomic write names its target, never the temporary file', async () => {
    const d = await mkdtemp(join(tmpdir(), 'iapas-fn-'));
    try {
      await writeFile(join(d, 'file'), 'x');
      const err = await writeFileAtomic(join(d, 'file', 'out.json'), '{}').catch((e) => e);
      expect(err).toBeInstanceOf(WriteError);
      expect(err.message).toBe(`cannot write ${join(d, 'file', 'out.json')}: a part of the path is a file, not a folder`);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
