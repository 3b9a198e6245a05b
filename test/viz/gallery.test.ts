import { describe, expect, it } from 'vitest';
import { blockMean, disagreement, displayScale, fitSize, orderImages, renderTile, toDisplay } from '../../src/viz/gallery.js';

describe('gallery order', () => {
  it('anomalous first, then by decreasing disagreement, then by id', () => {
    const imgs = [
      { relId: 'a', label: 'normal', disagreement: 0.9 },
      { relId: 'b', label: 'anomalous', disagreement: 0.1 },
      { relId: 'd', label: 'anomalous', disagreement: 0.5 },
      { relId: 'c', label: 'anomalous', disagreement: 0.5 },
    ];
    expect(orderImages(imgs).map((i) => i.relId)).toEqual(['c', 'd', 'b', 'a']);
  });

  it('disagreement is 0 for identical maps and grows with their spread', () => {
    const a = blockMean(Float32Array.from({ length: 100 }, (_, i) => i / 100), 10, 10, 4);
    expect(a.length).toBe(16);
    expect(disagreement([a, a])).toBe(0);
    expect(disagreement([a])).toBe(0);
    const flipped = a.map((v) => 1 - v);
    expect(disagreement([a, flipped])).toBeGreaterThan(0.1);
    expect(disagreement([a, flipped])).toBeGreaterThan(disagreement([a, a.map((v) => v * 0.9)]));
  });

  it('fits sizes inside a square, never enlarging', () => {
    expect(fitSize(1000, 500, 160)).toEqual([160, 80]);
    expect(fitSize(100, 50, 160)).toEqual([100, 50]);
  });
});

describe('display scale (as the evaluation normalised)', () => {
  it('maps raw values through the category range; the F1 threshold stays on [0, 1]', () => {
    const s = displayScale({ min: 2, max: 6 }, 0.25, true);
    expect(s).toEqual({ min: 2, max: 6, threshold: 0.25 });
    expect(Array.from(toDisplay([1, 2, 3, 6, 9], s))).toEqual([0, 0, 0.25, 1, 1]);
  });

  it('a threshold on raw values (no normalisation) is moved onto the scale', () => {
    expect(displayScale({ min: 2, max: 6 }, 3, false).threshold).toBe(0.25);
    expect(displayScale({ min: 2, max: 6 }, null, true).threshold).toBeNull();
  });
});

describe('renderTile', () => {
  const W = 40;
  const H = 20;
  const image = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(128) };
  // A map with a hot square on the right (10 x 10 map, resized to the tile).
  const map = new Float32Array(100);
  for (let y = 3; y < 7; y++) for (let x = 6; x < 9; x++) map[y * 10 + x] = 1;
  const px = (d: Uint8Array, x: number, y: number) => Array.from(d.subarray(3 * (y * W + x), 3 * (y * W + x) + 3));

  it('draws the mask at the threshold as a magenta outline and leaves cold pixels untinted', () => {
    const t = renderTile({ image, map: { data: map, width: 10, height: 10, scale: { min: 0, max: 1, threshold: 0.5 } } });
    expect([t.width, t.height]).toEqual([W, H]);
    expect(px(t.data, 2, 10)).toEqual([128, 128, 128]);
    let magenta = 0;
    for (let i = 0; i < W * H; i++) if (px(t.data, i % W, Math.floor(i / W)).join() === '255,40,200') magenta++;
    expect(magenta).toBeGreaterThan(10);
  });

  it('without a threshold there is no mask outline; prompts are scaled from image pixels to the tile', () => {
    const t = renderTile({
      image,
      map: { data: map, width: 10, height: 10, scale: { min: 0, max: 1, threshold: null } },
      prompts: { boxes: [[0, 0, 19, 9]], points: [], width: 80, height: 40 },
    });
    let magenta = 0;
    for (let i = 0; i < W * H; i++) if (px(t.data, i % W, Math.floor(i / W)).join() === '255,40,200') magenta++;
    expect(magenta).toBe(0);
    // The box covers image pixels 0..19 x 0..9, i.e. tile pixels 0..9 x 0..4: its last column is yellow.
    expect(px(t.data, 9, 2)).toEqual([255, 230, 0]);
    expect(px(t.data, 0, 0)).toEqual([255, 230, 0]);
  });
});
