import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  colourAt,
  comparisonGrid,
  drawBox,
  heatmapRgb,
  maskOutline,
  renderOverlay,
  writeComparisonFigure,
  writeHeatmapPng,
  writeMaskPng,
  writeOverlayPng,
} from '../../src/viz/index.js';

const px = (data: Uint8Array, width: number, x: number, y: number) => Array.from(data.subarray(3 * (y * width + x), 3 * (y * width + x) + 3));

describe('colormaps', () => {
  it('maps the ends of the range to the colormap ends', () => {
    expect(colourAt('viridis', 0)).toEqual([0x44, 0x01, 0x54]);
    expect(colourAt('viridis', 1)).toEqual([0xfd, 0xe7, 0x25]);
    expect(colourAt('jet', 0)).toEqual([0, 0, 128]);
    expect(colourAt('jet', 1)).toEqual([128, 0, 0]);
    expect(colourAt('jet', 0.5)).toEqual([128, 255, 128]);
    const h = heatmapRgb(Float32Array.from([2, 4, 3]));
    expect(h.length).toBe(9);
    expect(px(h, 3, 0, 0)).toEqual([0x44, 0x01, 0x54]);
    expect(px(h, 3, 1, 0)).toEqual([0xfd, 0xe7, 0x25]);
  });

  it('draws a constant or non-finite map at the low end instead of failing', () => {
    expect(px(heatmapRgb(new Float32Array(4).fill(7)), 4, 3, 0)).toEqual([0x44, 0x01, 0x54]);
    expect(px(heatmapRgb(Float32Array.from([0, NaN, 1])), 3, 1, 0)).toEqual([0x44, 0x01, 0x54]);
  });
});

describe('drawing', () => {
  it('outlines a square mask on its border pixels only', () => {
    const W = 8;
    const mask = new Uint8Array(W * W);
    for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) mask[y * W + x] = 1;
    const edge = maskOutline(mask, W, W);
    expect(edge.reduce((a, v) => a + v, 0)).toBe(12);
    expect(edge[3 * W + 3]).toBe(0);
    expect(edge[2 * W + 2]).toBe(1);
    expect(maskOutline(mask, W, W, 2).reduce((a, v) => a + v, 0)).toBe(16);
  });

  it('draws box edges with an exclusive far corner', () => {
    const img = { width: 6, height: 6, data: new Uint8Array(108) };
    drawBox(img, [1, 1, 4, 5], [255, 0, 0], 1);
    expect(px(img.data, 6, 1, 1)).toEqual([255, 0, 0]);
    expect(px(img.data, 6, 3, 4)).toEqual([255, 0, 0]);
    expect(px(img.data, 6, 2, 2)).toEqual([0, 0, 0]);
    expect(px(img.data, 6, 4, 4)).toEqual([0, 0, 0]);
  });

  it('overlays the mask outline, ground truth and boxes without changing the size', () => {
    const W = 16;
    const image = { width: W, height: W, data: new Uint8Array(W * W * 3).fill(100) };
    const mask = new Uint8Array(W * W);
    for (let y = 4; y < 10; y++) for (let x = 4; x < 10; x++) mask[y * W + x] = 1;
    const out = renderOverlay(image, { mask, boxes: [[0, 0, 3, 3]], thickness: 1 });
    expect([out.width, out.height, out.data.length]).toEqual([W, W, W * W * 3]);
    expect(px(out.data, W, 4, 4)).toEqual([255, 0, 0]);
    expect(px(out.data, W, 6, 6)).toEqual([100, 100, 100]);
    expect(px(out.data, W, 0, 0)).toEqual([255, 255, 0]);
    expect(image.data[0]).toBe(100); // input untouched
  });

  it('lays out a comparison grid with gaps', () => {
    const red = { width: 4, height: 2, data: new Uint8Array(24).fill(0).map((_, i) => (i % 3 === 0 ? 255 : 0)) };
    const g = comparisonGrid([[red, red, red], [red]], { cell: 10, gap: 2 });
    expect([g.width, g.height]).toEqual([3 * 10 + 4 * 2, 2 * 10 + 3 * 2]);
    expect(px(g.data, g.width, 2, 2)).toEqual([255, 0, 0]);
    expect(px(g.data, g.width, 0, 0)).toEqual([255, 255, 255]);
    expect(px(g.data, g.width, 20, 20)).toEqual([255, 255, 255]); // missing cell stays background
  });
});

describe('PNG writers', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('write PNGs of the expected size and channels', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iapas-viz-'));
    dirs.push(dir);
    const W = 12;
    const H = 7;
    const map = Float32Array.from({ length: W * H }, (_, i) => i);
    const mask = Uint8Array.from({ length: W * H }, (_, i) => (i % 2 ? 1 : 0));
    await writeHeatmapPng(join(dir, 'h.png'), map, W, H, { colormap: 'jet' });
    await writeMaskPng(join(dir, 'm.png'), mask, W, H);
    await writeOverlayPng(join(dir, 'o.png'), { width: W, height: H, data: new Uint8Array(W * H * 3) }, { mask, map });
    await writeComparisonFigure(join(dir, 'f.png'), [[{ width: W, height: H, data: new Uint8Array(W * H * 3) }]], { cell: 20, gap: 1 });
    const meta = async (f: string) => {
      const m = await sharp(join(dir, f)).metadata();
      return [m.width, m.height, m.channels];
    };
    expect(await meta('h.png')).toEqual([W, H, 3]);
    expect(await meta('m.png')).toEqual([W, H, 1]);
    expect(await meta('o.png')).toEqual([W, H, 3]);
    expect(await meta('f.png')).toEqual([22, 22, 3]);
    const { data, info } = await sharp(join(dir, 'm.png')).raw().toBuffer({ resolveWithObject: true });
    expect([data[0], data[info.channels]]).toEqual([0, 255]);
  });

  it('rejects a map of the wrong size', async () => {
    await expect(writeHeatmapPng('/nonexistent/x.png', new Float32Array(3), 2, 2)).rejects.toThrow(/3 values/);
  });
});
