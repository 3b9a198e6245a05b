import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { writeRgb, writeTinyMvtec } from '../support/fake-pipeline.js';
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

  it('--check-sizes files an undecodable image under its own path; --check-images decodes every file', async () => {
    const root = join(tmp, 'broken');
    const cat = await writeTinyMvtec(root, 'widget', { anomalous: 3, normal: 1 });
    const badImage = join(cat, 'test', 'crack', '000.png');
    const badMask = join(cat, 'ground_truth', 'crack', '001_mask.png');
    const png = await readFile(badImage);
    await writeFile(badImage, png.subarray(0, 40));
    await writeFile(badMask, '');
    // Header intact, pixels cut: only decoding finds it.
    const halfImage = join(cat, 'test', 'crack', '002.png');
    const half = await readFile(halfImage);
    await writeFile(halfImage, half.subarray(0, Math.floor(half.length / 2)));
    await writeRgb(join(cat, 'test', 'crack', 'big.png'), 90, true);
    await sharp(Buffer.alloc(16 * 8), { raw: { width: 16, height: 8, channels: 1 } }).png().toFile(join(cat, 'ground_truth', 'crack', 'big_mask.png'));

    const sizes = join(tmp, 'sizes.json');
    await run(['datasets', 'inspect', root, '--check-sizes', '--json', sizes]);
    const list = JSON.parse(await readFile(sizes, 'utf8')).problemList as Array<{ kind: string; path: string; message: string }>;
    // Each unreadable file under its own path (the image's error was filed under its mask's).
    expect(list.filter((p) => p.kind === 'unreadable').map((p) => p.path).sort()).toEqual([badImage, badMask].sort());
    expect(list.find((p) => p.path === join(cat, 'ground_truth', 'crack', '000_mask.png'))).toBeUndefined();
    const mismatch = list.find((p) => p.kind === 'size-mismatch')!;
    expect(mismatch.message).toMatch(/^mask is 16x8, image .*big\.png is 32x32$/);

    const images = join(tmp, 'images.json');
    const out = await run(['datasets', 'inspect', root, '--check-images', '--json', images]);
    const bad = (JSON.parse(await readFile(images, 'utf8')).problemList as Array<{ kind: string; path: string }>).filter((p) => p.kind === 'unreadable');
    expect(bad.map((p) => p.path).sort()).toEqual([badImage, badMask, halfImage].sort());
    expect(out).toMatch(/unreadable: .*000\.png: cannot decode image/);
  });

  it('rejects an unknown layout name', async () => {
    await expect(run(['datasets', 'inspect', tmp, '--layout', 'nope'])).rejects.toThrow(/unknown layout 'nope'/);
  });
});
