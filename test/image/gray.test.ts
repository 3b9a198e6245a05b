import { describe, expect, it } from 'vitest';
import { grayBoxMean } from '../../src/image/gray.js';
import type { RgbImage } from '../../src/image/types.js';

function rgb(width: number, height: number, px: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(px(x, y), (y * width + x) * 3);
  return { width, height, data } as RgbImage;
}

describe('grayBoxMean', () => {
  it('weighs the channels as BT.601 luma', () => {
    const img = rgb(1, 1, () => [200, 100, 50]);
    expect(grayBoxMean(img, 1, 1)[0]).toBeCloseTo(0.299 * 200 + 0.587 * 100 + 0.114 * 50, 4);
  });

  it('averages each cell over the source pixels that fall into it', () => {
    // 4x2 image, left half 0, right half gray 100 except one pixel at 200: cells of 2x2.
    const img = rgb(4, 2, (x, y) => (x < 2 ? [0, 0, 0] : x === 3 && y === 1 ? [200, 200, 200] : [100, 100, 100]));
    const out = grayBoxMean(img, 2, 1);
    expect(out[0]).toBeCloseTo(0, 5);
    expect(out[1]).toBeCloseTo(125, 4);
  });

  it('keeps a plain image plain at any grid that does not divide it', () => {
    const img = rgb(7, 5, () => [80, 80, 80]);
    for (const v of grayBoxMean(img, 3, 2)) expect(v).toBeCloseTo(80, 4);
  });
});
