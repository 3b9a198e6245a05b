import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  binariseMask,
  imageFileHash,
  imageSize,
  loadImage,
  loadMask,
  loadRgb,
  maskFileHasPositive,
  savePng,
  toGray,
} from '../../src/image/io.js';
import { UserError } from '../../src/util/errors.js';
import { paletteBmp, rgbBmp } from '../support/image-fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iapas-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadImage', () => {
  it('reads 8-bit grayscale PNG as one channel', async () => {
    const p = join(dir, 'gray.png');
    await sharp(Buffer.from([0, 100, 200, 255, 7, 8]), { raw: { width: 3, height: 2, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(p);
    const img = await loadImage(p);
    expect(img).toMatchObject({ width: 3, height: 2, channels: 1, bitDepth: 8 });
    expect([...img.data]).toEqual([0, 100, 200, 255, 7, 8]);
    const rgb = await loadRgb(p);
    expect([...rgb.data.slice(0, 6)]).toEqual([0, 0, 0, 100, 100, 100]);
  });

  it('reads 16-bit grayscale PNG at full depth and scales it for loadRgb', async () => {
    const p = join(dir, 'gray16.png');
    await sharp(new Uint16Array([0, 1000, 40000, 65535]), { raw: { width: 2, height: 2, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(p);
    const img = await loadImage(p);
    expect(img).toMatchObject({ width: 2, height: 2, channels: 1, bitDepth: 16 });
    expect(img.data).toBeInstanceOf(Uint16Array);
    expect([...img.data]).toEqual([0, 1000, 40000, 65535]);
    const rgb = await loadRgb(p);
    expect([...rgb.data]).toEqual([0, 0, 0, 4, 4, 4, 156, 156, 156, 255, 255, 255]);
  });

  it('reads 16-bit RGB PNG', async () => {
    const p = join(dir, 'rgb16.png');
    await sharp(new Uint16Array([0, 1000, 40000, 65535, 257, 514]), { raw: { width: 2, height: 1, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(p);
    const img = await loadImage(p);
    expect(img).toMatchObject({ width: 2, height: 1, channels: 3, bitDepth: 16 });
    expect([...img.data]).toEqual([0, 1000, 40000, 65535, 257, 514]);
    expect([...(await loadRgb(p)).data]).toEqual([0, 4, 156, 255, 1, 2]);
  });

  it('drops alpha from RGBA without blending it into the colours', async () => {
    const p = join(dir, 'rgba.png');
    await sharp(Buffer.from([255, 0, 0, 10, 0, 255, 0, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(p);
    const img = await loadImage(p);
    expect(img).toMatchObject({ width: 2, height: 1, channels: 3, bitDepth: 8 });
    expect([...img.data]).toEqual([255, 0, 0, 0, 255, 0]);
  });

  it('reads TIFF', async () => {
    const p = join(dir, 'img.tif');
    await sharp(Buffer.from([10, 20, 30, 40, 50, 60]), { raw: { width: 2, height: 1, channels: 3 } }).tiff({ compression: 'lzw' }).toFile(p);
    expect([...(await loadRgb(p)).data]).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('applies EXIF orientation (JPEG tagged 6 is stored 4x2, shown 2x4)', async () => {
    const p = join(dir, 'rotated.jpg');
    // Stored: left half dark, right half bright. Orientation 6 means "turn 90° clockwise to display",
    // which brings the stored left columns to the top.
    const raw = Buffer.alloc(4 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) raw.fill(x < 2 ? 0 : 255, (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
    await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(p);
    const img = await loadRgb(p);
    expect([img.width, img.height]).toEqual([2, 4]);
    expect(await imageSize(p)).toEqual({ width: 2, height: 4 });
    expect(img.data[0]).toBeLessThan(60); // top row: the stored left (dark) columns
    expect(img.data[(3 * 2) * 3]).toBeGreaterThan(200); // bottom row: the stored right (bright) columns
  });

  it('reads a 24-bit BMP (sharp cannot) by its magic bytes, whatever the extension', async () => {
    const p = join(dir, 'colour.png'); // misnamed on purpose
    await writeFile(p, rgbBmp(2, 2, [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]));
    const img = await loadImage(p);
    expect(img).toMatchObject({ width: 2, height: 2, channels: 3, bitDepth: 8 });
    expect([...img.data]).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
    expect(await imageSize(p)).toEqual({ width: 2, height: 2 });
  });

  it('reads an 8-bit grey-palette BMP as one channel', async () => {
    const p = join(dir, 'label.bmp');
    await writeFile(p, paletteBmp(3, 2, Uint8Array.from([0, 0, 255, 0, 128, 0])));
    const img = await loadImage(p);
    expect(img).toMatchObject({ width: 3, height: 2, channels: 1 });
    expect([...img.data]).toEqual([0, 0, 255, 0, 128, 0]);
    expect([...(await loadMask(p)).data]).toEqual([0, 0, 1, 0, 1, 0]);
  });

  it('raises a UserError naming the file for truncated, corrupt and missing files', async () => {
    const png = await sharp(Buffer.alloc(64 * 64 * 3, 90), { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
    const jpg = await sharp(Buffer.alloc(64 * 64 * 3, 90), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    const cases: Array<[string, Buffer]> = [
      ['trunc.png', png.subarray(0, Math.floor(png.length / 2))],
      ['trunc.jpg', jpg.subarray(0, Math.floor(jpg.length / 2))],
      ['trunc.bmp', rgbBmp(8, 8, new Array(8 * 8 * 3).fill(1)).subarray(0, 80)],
      ['garbage.png', Buffer.from('not an image at all')],
    ];
    for (const [name, bytes] of cases) {
      const p = join(dir, name);
      await writeFile(p, bytes);
      const err = await loadImage(p).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain(p);
    }
    await expect(loadRgb(join(dir, 'absent.png'))).rejects.toThrow(/absent\.png: file not found/);
    await expect(imageSize(join(dir, 'garbage.png'))).rejects.toBeInstanceOf(UserError);
  });
});

describe('masks', () => {
  it('binarises at > 127 on the 8-bit scale', async () => {
    const p = join(dir, 'mask.png');
    await sharp(Buffer.from([0, 127, 128, 255]), { raw: { width: 4, height: 1, channels: 1 } }).toColourspace('b-w').png().toFile(p);
    expect([...(await loadMask(p)).data]).toEqual([0, 0, 1, 1]);
  });

  it('scales 16-bit masks before thresholding', async () => {
    const p = join(dir, 'mask16.png');
    await sharp(new Uint16Array([0, 32000, 33000, 65535]), { raw: { width: 4, height: 1, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(p);
    expect([...(await loadMask(p)).data]).toEqual([0, 0, 1, 1]);
  });

  it('reads masks stored as small non-zero values (0/1) as positive where non-zero', () => {
    const m = binariseMask({ width: 4, height: 1, channels: 1, bitDepth: 8, data: Uint8Array.from([0, 1, 0, 1]) });
    expect([...m.data]).toEqual([0, 1, 0, 1]);
    const empty = binariseMask({ width: 2, height: 1, channels: 1, bitDepth: 8, data: Uint8Array.from([0, 0]) });
    expect([...empty.data]).toEqual([0, 0]);
  });

  it('converts RGB masks with luma weights', () => {
    const g = toGray({ width: 2, height: 1, channels: 3, bitDepth: 8, data: Uint8Array.from([255, 255, 255, 255, 0, 0]) });
    expect([...g.data]).toEqual([255, 76]);
  });

  it('maskFileHasPositive agrees with loadMask on BMP (fast scan) and PNG', async () => {
    const cases: Array<[string, Buffer, boolean]> = [
      ['pos8.bmp', paletteBmp(5, 3, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200])), true],
      ['zero8.bmp', paletteBmp(5, 3, new Uint8Array(15)), false], // padding bytes are 255: must be ignored
      ['faint8.bmp', paletteBmp(2, 1, Uint8Array.from([0, 1])), true],
      // Palette index 1 is black: a non-zero index is not a positive pixel.
      ['black-index.bmp', paletteBmp(2, 1, Uint8Array.from([1, 1]), [[0, 0, 0], [0, 0, 0]]), false],
      ['pos24.bmp', rgbBmp(3, 1, [0, 0, 0, 0, 0, 0, 255, 255, 255]), true],
      ['zero24.bmp', rgbBmp(3, 1, new Array(9).fill(0)), false],
    ];
    for (const [name, bytes, expected] of cases) {
      const p = join(dir, name);
      await writeFile(p, bytes);
      expect(await maskFileHasPositive(p), name).toBe(expected);
      expect((await loadMask(p)).data.some((v) => v === 1), name).toBe(expected);
    }
    const truncated = join(dir, 'trunc-label.bmp');
    await writeFile(truncated, paletteBmp(50, 50, new Uint8Array(2500)).subarray(0, 2000));
    await expect(maskFileHasPositive(truncated)).rejects.toThrow(truncated);
  });
});

describe('savePng and imageFileHash', () => {
  it('round-trips gray, RGB and 0/1 masks', async () => {
    const gray = { width: 3, height: 1, data: Uint8Array.from([1, 2, 3]) };
    const rgb = { width: 1, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    await savePng(join(dir, 'out', 'g.png'), gray);
    await savePng(join(dir, 'out', 'c.png'), rgb);
    await savePng(join(dir, 'out', 'm.png'), { width: 2, height: 1, data: Uint8Array.from([0, 1]) }, { mask: true });
    const g = await loadImage(join(dir, 'out', 'g.png'));
    expect(g.channels).toBe(1);
    expect([...g.data]).toEqual([1, 2, 3]);
    expect([...(await loadRgb(join(dir, 'out', 'c.png'))).data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...(await loadImage(join(dir, 'out', 'm.png'))).data]).toEqual([0, 255]);
    await expect(savePng(join(dir, 'bad.png'), { width: 2, height: 2, data: new Uint8Array(5) })).rejects.toThrow(/gray or RGB/);
  });

  it('hashes file bytes: same bytes same hash, different bytes different hash', async () => {
    const a = join(dir, 'out', 'g.png');
    const copy = join(dir, 'copy.png');
    await writeFile(copy, await readFile(a));
    expect(await imageFileHash(copy)).toBe(await imageFileHash(a));
    expect(await imageFileHash(join(dir, 'out', 'c.png'))).not.toBe(await imageFileHash(a));
    await expect(imageFileHash(join(dir, 'nope.png'))).rejects.toBeInstanceOf(UserError);
  });
});
