/**
 * Small dataset trees in each native layout, written into a temp folder by the tests. Images are 8x8;
 * masks are 8x8 with `positive` deciding whether any pixel is set.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { paletteBmp } from '../support/image-fixtures.js';

const W = 8;
const H = 8;

async function ensureDir(p: string): Promise<void> {
  await mkdir(dirname(p), { recursive: true });
}

export async function writeImage(p: string, value = 100): Promise<void> {
  await ensureDir(p);
  const raw = Buffer.alloc(W * H * 3, value);
  const s = sharp(raw, { raw: { width: W, height: H, channels: 3 } });
  if (/\.jpe?g$/i.test(p)) await s.jpeg().toFile(p);
  else if (/\.bmp$/i.test(p)) await writeFile(p, paletteBmp(W, H, new Uint8Array(W * H).fill(value)));
  else await s.png().toFile(p);
}

export async function writeMask(p: string, positive: boolean, onValue = 255): Promise<void> {
  await ensureDir(p);
  const px = new Uint8Array(W * H);
  if (positive) px.fill(onValue, 9, 12);
  if (/\.bmp$/i.test(p)) await writeFile(p, paletteBmp(W, H, px));
  else await sharp(Buffer.from(px), { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(p);
}

export async function writeText(p: string, text: string): Promise<void> {
  await ensureDir(p);
  await writeFile(p, text);
}

/** BTAD: product 01 with .png masks, product 03 with .bmp images and masks, one ko image unmasked in 03. */
export async function buildBtad(root: string): Promise<void> {
  for (const n of ['0000', '0001', '0002']) await writeImage(join(root, '01', 'train', 'ok', `${n}.bmp`));
  await writeImage(join(root, '01', 'test', 'ok', '0000.bmp'));
  for (const n of ['0000', '0001']) {
    await writeImage(join(root, '01', 'test', 'ko', `${n}.bmp`));
    await writeMask(join(root, '01', 'ground_truth', 'ko', `${n}.png`), true);
  }
  for (const n of ['0000', '0001']) await writeImage(join(root, '03', 'train', 'ok', `${n}.bmp`));
  await writeImage(join(root, '03', 'test', 'ok', '0000.bmp'));
  for (const n of ['0000', '0001', '0002']) await writeImage(join(root, '03', 'test', 'ko', `${n}.bmp`));
  await writeMask(join(root, '03', 'ground_truth', 'ko', '0000.bmp'), true);
  await writeMask(join(root, '03', 'ground_truth', 'ko', '0001.bmp'), true);
  // 0002 has no mask: must be reported, not counted as normal.
}

/** KSDD1 native: kos01 (Part0 defective, Part1 clean), kos02 (Part0, Part1 clean, Part2 defective). */
export async function buildKsdd1(root: string): Promise<void> {
  const parts: Array<[string, string, boolean]> = [
    ['kos01', 'Part0', true],
    ['kos01', 'Part1', false],
    ['kos02', 'Part0', false],
    ['kos02', 'Part1', false],
    ['kos02', 'Part2', true],
  ];
  for (const [kos, part, defective] of parts) {
    await writeImage(join(root, kos, `${part}.jpg`));
    await writeMask(join(root, kos, `${part}_label.bmp`), defective);
  }
}

/** KSDD2: train 3 images (1 defective), test 4 (2 defective, with GT values 0/1 in one of them). */
export async function buildKsdd2(root: string): Promise<void> {
  const items: Array<[string, string, boolean, number]> = [
    ['train', '10000', false, 255],
    ['train', '10001', true, 255],
    ['train', '10002', false, 255],
    ['test', '20000', true, 255],
    ['test', '20001', false, 255],
    ['test', '20002', true, 1],
    ['test', '20003', false, 255],
  ];
  for (const [split, n, defective, on] of items) {
    await writeImage(join(root, split, `${n}.png`));
    await writeMask(join(root, split, `${n}_GT.png`), defective, on);
  }
}

/** DAGM 2007: Class1 and Class2, with Labels.txt; Class2/Test has one defective image whose label file is absent. */
export async function buildDagm(root: string): Promise<void> {
  const classes: Array<[string, string, Array<[string, boolean]>]> = [
    ['Class1', 'Train', [['0001', false], ['0002', true], ['0003', false]]],
    ['Class1', 'Test', [['0001', true], ['0002', false]]],
    ['Class2', 'Train', [['0001', false], ['0002', false]]],
    ['Class2', 'Test', [['0001', true], ['0002', true], ['0003', false]]],
  ];
  for (const [cls, split, images] of classes) {
    const dir = join(root, cls, split);
    const lines = ['1'];
    let i = 1;
    for (const [n, defective] of images) {
      await writeImage(join(dir, `${n}.PNG`));
      const absent = cls === 'Class2' && split === 'Test' && n === '0002';
      if (defective && !absent) await writeMask(join(dir, 'Label', `${n}_label.PNG`), true);
      lines.push(`${i++}\t${defective ? 1 : 0}\t${n}.PNG\t0\t${defective ? `${n}_label.PNG` : ''}`);
    }
    await writeText(join(dir, 'Label', 'Labels.txt'), lines.join('\n') + '\n');
  }
}

/** VisA: candle and pcb1 with split_csv/1cls.csv and an image_anno.csv for candle; masks store 0/1. */
export async function buildVisa(root: string): Promise<void> {
  const rows = ['object,split,label,image,mask'];
  for (const obj of ['candle', 'pcb1']) {
    for (const [split, n] of [
      ['train', '0001'],
      ['train', '0002'],
      ['test', '0003'],
    ]) {
      const image = `${obj}/Data/Images/Normal/${n}.JPG`;
      await writeImage(join(root, image));
      rows.push(`${obj},${split},normal,${image},`);
    }
    for (const n of ['000', '001']) {
      const image = `${obj}/Data/Images/Anomaly/${n}.JPG`;
      const mask = `${obj}/Data/Masks/Anomaly/${n}.png`;
      await writeImage(join(root, image));
      await writeMask(join(root, mask), true, 1);
      rows.push(`${obj},test,anomaly,${image},${mask}`);
    }
  }
  await writeText(join(root, 'split_csv', '1cls.csv'), rows.join('\n') + '\n');
  await writeText(
    join(root, 'candle', 'image_anno.csv'),
    'image,label,mask\ncandle/Data/Images/Anomaly/000.JPG,"chunk of wax missing,damaged corner",candle/Data/Masks/Anomaly/000.png\n',
  );
}

/** DTD-Synthetic (MVTec layout): two categories with train/good, test/{good,bad}, ground_truth/bad. */
export async function buildDtd(root: string): Promise<void> {
  for (const cat of ['Blotchy_099', 'Woven_001']) {
    for (const n of ['000', '001', '002', '003']) await writeImage(join(root, cat, 'train', 'good', `${n}.png`));
    for (const n of ['000', '001']) await writeImage(join(root, cat, 'test', 'good', `${n}.png`));
    for (const n of ['000', '001', '002']) {
      await writeImage(join(root, cat, 'test', 'bad', `${n}.png`));
      await writeMask(join(root, cat, 'ground_truth', 'bad', `${n}_mask.png`), true);
    }
  }
}
