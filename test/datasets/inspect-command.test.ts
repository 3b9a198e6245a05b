import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { register } from '../../src/commands/datasets.js';
import { buildBtad } from './tree-builders.js';
import { itWithShared, SHARED } from '../support/shared.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'iapas-inspect-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'iapas', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

const MTD = join(SHARED.datasets, 'mtd');

describe('iapas datasets inspect', () => {
  itWithShared('prints MTD: 60 anomalous with masks in 5 defect types, 40 normal; writes JSON', [MTD], async () => {
    const json = join(tmp, 'mtd.json');
    const out = await run(['datasets', 'inspect', MTD, '--json', json, '--check-sizes']);
    expect(out).toContain('layout: mtd');
    expect(out).toContain('mtd: 100 images: 60 anomalous (60 with masks) in 5 defect types, 40 normal');
    expect(out).toMatch(/mtd\s+test\s+anomalous\s+Crack\s+12\s+12/);
    expect(out).toContain('problems: none');
    const j = JSON.parse(await readFile(json, 'utf8'));
    expect(j.totals).toEqual({ images: 100, normal: 40, anomalous: 60, anomalousWithMask: 60 });
    expect(j.categories[0].defectTypes).toEqual(['Blowhole', 'Break', 'Crack', 'Fray', 'Uneven']);
  });

  it('counts an unmasked anomalous image and lists it as a problem', async () => {
    const root = join(tmp, 'btad');
    await buildBtad(root);
    const json = join(tmp, 'btad.json');
    const out = await run(['datasets', 'inspect', root, '--json', json]);
    expect(out).toContain('03: 6 images: 3 anomalous (2 with masks) in 1 defect type, 3 normal [train 2 normal]');
    expect(out).toContain(`missing-mask: ${join(root, '03', 'test', 'ko', '0002.bmp')}`);
    const j = JSON.parse(await readFile(json, 'utf8'));
    expect(j.problems).toEqual({ total: 1, byKind: { 'missing-mask': 1 } });
    expect(j.problemList[0].path).toBe(join(root, '03', 'test', 'ko', '0002.bmp'));
  });

  it('rejects an unknown layout name', async () => {
    await expect(run(['datasets', 'inspect', tmp, '--layout', 'nope'])).rejects.toThrow(/unknown layout 'nope'/);
  });
});
