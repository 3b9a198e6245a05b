import { describe, expect, it } from 'vitest';
import { concatLayersHwc, cropChw, localAverageChw, resizeChw } from '../../../src/models/backbones/features.js';
import { poolChw } from '../../../src/models/backbones/sam-encoder.js';
import { gaussianBlur } from '../../../src/methods/components/smooth.js';
import { combineToImageMap, gridToMap, workShape } from '../../../src/methods/components/score-map.js';

describe('feature grid helpers', () => {
  it('normalises each layer per patch before concatenating', () => {
    // two patches; layer A (1 channel) and layer B (2 channels), CHW
    const a = Float32Array.from([2, -3]);
    const b = Float32Array.from([3, 0, 4, 5]);
    const { data, dim } = concatLayersHwc([{ data: a, channels: 1 }, { data: b, channels: 2 }], 1, 2);
    expect(dim).toBe(3);
    expect(Array.from(data).map((v) => +v.toFixed(3))).toEqual([1, 0.6, 0.8, -1, 0, 1]);
  });

  it('pools, crops, averages and resizes CHW grids', () => {
    const g = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]); // 1 x 3 x 3
    expect(Array.from(poolChw(g, 1, 3, 3, 2).data)).toEqual([3, 4.5, 7.5, 9]);
    expect(Array.from(cropChw(g, 1, 3, 3, 2, 2))).toEqual([1, 2, 4, 5]);
    expect(localAverageChw(g, 1, 3, 3, 3)[4]).toBeCloseTo(5);
    expect(localAverageChw(g, 1, 3, 3, 3)[0]).toBeCloseTo(3); // corner: mean of 1,2,4,5
    const up = resizeChw(Float32Array.from([0, 1]), 1, 1, 2, 1, 4);
    expect(Array.from(up)).toEqual([0, 0.25, 0.75, 1]);
  });
});

describe('score maps', () => {
  it('crops a grid that covers more than the image (SAM padding)', () => {
    // 2x1 grid covering twice the image width: the image sees only the left cell.
    const map = gridToMap(Float32Array.from([1, 5]), { gridWidth: 2, gridHeight: 1, coverWidth: 20, coverHeight: 10 }, 10, 10, 10, 10);
    expect(map.length).toBe(100);
    expect(Math.max(...map)).toBeLessThan(3.1);
    expect(map[0]).toBeCloseTo(1);
  });

  it('keeps a constant map constant through upsampling and smoothing', () => {
    const grid = { data: new Float32Array(0), gridWidth: 4, gridHeight: 4, dim: 1, coverWidth: 50, coverHeight: 30 };
    const map = combineToImageMap([{ name: '', scores: new Float32Array(16).fill(0.25), grid }], 50, 30);
    expect(map.length).toBe(1500);
    for (const v of map) expect(v).toBeCloseTo(0.25, 5);
    expect(workShape(1024, 512, 256)).toEqual({ width: 256, height: 128 });
  });

  it('Gaussian blur preserves the mass of an impulse away from edges', () => {
    const src = new Float32Array(31 * 31);
    src[15 * 31 + 15] = 1;
    const out = gaussianBlur(src, 31, 31, 2);
    expect(out.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 4);
    expect(out[15 * 31 + 15]).toBeCloseTo(1 / (2 * Math.PI * 4), 2);
  });
});
