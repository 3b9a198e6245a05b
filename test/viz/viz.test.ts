import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  colourAt,
  comparisonGrid,
  heatmapRgb,
  outlineBand,
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

describe('overlay (heat map over the image)', () => {
  const W = 64;
  const H = 48;
  const map = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) map[y * W + x] = x / (W - 1); // 0 on the left, 1 on the right
  const gt = new Uint8Array(W * H);
  for (let y = 10; y < 30; y++) for (let x = 40; x < 60; x++) gt[y * W + x] = 1;
  const pred = new Uint8Array(W * H);
  for (let y = 20; y < 40; y++) for (let x = 5; x < 25; x++) pred[y * W + x] = 1;
  const grey = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(120) };
  const out = renderOverlay(grey, { map, groundTruth: gt, prediction: pred, thickness: 1, points: [[32, 5]], boxes: [[2, 2, 11, 11]] });
  const at = (x: number, y: number) => px(out.data, W, x, y);

  it('keeps the image where the score is low (no tint) and the size', () => {
    expect([out.width, out.height, out.data.length]).toEqual([W, H, W * H * 3]);
    expect(at(1, 45)).toEqual([120, 120, 120]);
  });

  it('tints high scores, and the image still shows through', () => {
    const p = at(62, 45); // jet's top end (dark red) at opacity 0.65
    expect(p[0]).toBeGreaterThan(p[2] + 40);
    expect(p[2]).toBeGreaterThan(20); // 0.35 of the grey image is left
  });

  it('outlines ground truth and prediction over a dark halo, not their insides; prompts in yellow', () => {
    expect(at(40, 20)).toEqual([40, 255, 80]); // ground-truth edge
    expect(at(50, 20)).not.toEqual([40, 255, 80]); // inside stays heat map
    expect(at(5, 30)).toEqual([255, 40, 200]); // prediction edge
    expect(at(39, 20)).toEqual([0, 0, 0]); // halo just outside the ground-truth edge
    expect(at(32, 5)).toEqual([255, 230, 0]); // prompt point
    expect(at(2, 7)).toEqual([255, 230, 0]); // box edge
    expect(at(11, 7)).toEqual([255, 230, 0]); // the box's last column is its x2 (inclusive corners)
    expect(at(12, 7)).toEqual([0, 0, 0]); // and the halo is outside it
  });

  it('uses the given colour range, so images of a category share one scale', () => {
    // On a scale up to 10 the same map (at most 1) is cold: barely tinted where its own scale is red.
    const low = px(renderOverlay(grey, { map, min: 0, max: 10 }).data, W, 62, 45);
    for (const c of low) expect(Math.abs(c - 120)).toBeLessThan(10);
    expect(px(renderOverlay(grey, { map, min: 0, max: 1 }).data, W, 62, 45)).toEqual(at(62, 45));
  });

  it('does not change the input, and rejects a map of another size', () => {
    expect(Array.from(grey.data.subarray(0, 6))).toEqual([120, 120, 120, 120, 120, 120]);
    expect(() => renderOverlay(grey, { map: new Float32Array(5) })).toThrow(/5 values for a 64x48 image/);
  });

  it('outlineBand widens the edge on both sides', () => {
    const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
    expect(count(outlineBand(gt, W, H, 0))).toBe(2 * 20 + 2 * 18);
    expect(count(outlineBand(gt, W, H, 1))).toBeGreaterThan(2 * count(outlineBand(gt, W, H, 0)));
  });
});

describe('figures', () => {
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
    await writeOverlayPng(join(dir, 'o.png'), { width: W, height: H, data: new Uint8Array(W * H * 3) }, { prediction: mask, map });
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
