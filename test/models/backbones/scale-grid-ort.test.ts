/**
 * The onnxruntime graph of a feature scale's grid (src/models/backbones/scale-grid-ort.ts) against
 * its plain-JS reference (test/support/scale-grid-reference.ts, whose steps multi-scale.test.ts
 * checks against brute-force definitions): both layouts, pool 1/2/4, radius 0/1, crops that are
 * not multiples of the pool and not square, the whole grid (the graph without its Slice), and a
 * block of all-zero cells that must stay zero (no NaN from the L2 step).
 */
import { describe, expect, it } from 'vitest';
import { buildScaleGridGraph, scaleGridOrt, type ScaleLayout } from '../../../src/models/backbones/scale-grid-ort.js';
import { scaleGrid } from '../../../src/models/backbones/sam-inner.js';
import type { EncoderScale } from '../../../src/models/backbones/entries.js';
import { mulberry32 } from '../../../src/util/random.js';
import { scaleCellsReference, scaleGridReference } from '../../support/scale-grid-reference.js';

/** A random encoder tensor whose cells in rows [0, zh) x cols [0, zw) are all zero. */
function tensor(layout: ScaleLayout, h: number, w: number, c: number, seed: number, zh = 0, zw = 0): { data: Float32Array; dims: number[] } {
  const rnd = mulberry32(seed);
  const data = Float32Array.from({ length: h * w * c }, () => rnd() * 2 - 1);
  for (let y = 0; y < zh; y++)
    for (let x = 0; x < zw; x++)
      for (let k = 0; k < c; k++) data[layout === 'tokens' ? (y * w + x) * c + k : k * h * w + y * w + x] = 0;
  return { data, dims: layout === 'tokens' ? [1, h * w, c] : [1, c, h, w] };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('scale grid on onnxruntime equals the plain-JS reference', () => {
  const cases: Array<{ layout: ScaleLayout; h: number; w: number; gh: number; gw: number }> = [
    { layout: 'tokens', h: 64, w: 64, gh: 37, gw: 64 }, // a wide image: rows cropped, 37 not a multiple of 2 or 4
    { layout: 'tokens', h: 64, w: 64, gh: 64, gw: 29 }, // a tall one
    { layout: 'tokens', h: 48, w: 48, gh: 48, gw: 48 }, // square: the graph without Slice
    { layout: 'nchw', h: 64, w: 64, gh: 37, gw: 64 },
    { layout: 'nchw', h: 40, w: 52, gh: 33, gw: 51 }, // non-square frame, both axes cropped
    { layout: 'nchw', h: 40, w: 52, gh: 40, gw: 52 }, // whole frame: the graph without Slice
  ];
  for (const { layout, h, w, gh, gw } of cases)
    for (const pool of [1, 2, 4])
      for (const radius of [0, 1]) {
        it(`${layout} ${h}x${w} crop ${gh}x${gw}, pool ${pool}, radius ${radius}`, async () => {
          const c = 37;
          // Zero cells covering the first output cell's whole neighbourhood: it must stay exactly zero.
          const z = pool * (2 * radius + 1);
          const t = tensor(layout, h, w, c, 17 * pool + radius + gh, z, z);
          const op = { layout, pool, radius };
          const ref = scaleCellsReference(t.data, t.dims, op, gh, gw);
          const got = await scaleGridOrt(t.data, t.dims, op, gh, gw);
          expect([got.h, got.w, got.c]).toEqual([Math.ceil(gh / pool), Math.ceil(gw / pool), c]);
          expect([got.h, got.w, got.c]).toEqual([ref.h, ref.w, ref.c]);
          expect(got.data.length).toBe(ref.data.length);
          expect(maxAbsDiff(got.data, ref.data)).toBeLessThan(1e-5);
          expect(got.data.every(Number.isFinite)).toBe(true);
          expect(Array.from(got.data.subarray(0, c))).toEqual(new Array(c).fill(0));
          // Every other cell is a unit vector.
          const p = got.h * got.w - 1;
          let s = 0;
          for (let k = 0; k < c; k++) s += got.data[p * c + k] ** 2;
          expect(Math.sqrt(s)).toBeCloseTo(1, 5);
        });
      }

  it('serves several image sizes and channel counts from one session, and refuses a bad pool', async () => {
    const op = { layout: 'tokens' as const, pool: 2, radius: 1 };
    for (const [side, c, gh, gw] of [
      [32, 8, 20, 32],
      [64, 160, 64, 41],
      [32, 320, 7, 5],
    ]) {
      const t = tensor('tokens', side, side, c, side + c);
      const got = await scaleGridOrt(t.data, t.dims, op, gh, gw);
      expect(maxAbsDiff(got.data, scaleCellsReference(t.data, t.dims, op, gh, gw).data)).toBeLessThan(1e-5);
    }
    expect(() => buildScaleGridGraph({ layout: 'nchw', pool: 0, radius: 1 })).toThrow(/pool must be an integer >= 1/);
  });

  it("backs the backbone's scaleGrid: same grid, geometry and errors as the reference", async () => {
    const scale: EncoderScale = { name: 'l0', tensor: 't', layout: 'nchw', stride: 4, pool: 4, radius: 1 };
    // A 300 x 200 image in a 256 frame: resized 256 x 171 -> 43 x 64 cells of stride 4 -> 11 x 16 pooled.
    const t = tensor('nchw', 64, 64, 16, 3);
    const image = { width: 300, height: 200 };
    const resized = { width: 256, height: 171 };
    const got = await scaleGrid(t, scale, image, resized);
    const ref = scaleGridReference(t, scale, image, resized);
    expect({ ...got, data: null }).toEqual({ ...ref, data: null });
    expect([got.gridWidth, got.gridHeight]).toEqual([16, 11]);
    expect(maxAbsDiff(got.data, ref.data)).toBeLessThan(1e-5);
    await expect(scaleGrid({ data: t.data, dims: [1, 16, 32, 64] }, scale, image, resized)).rejects.toThrow(/expected \[1, C, H, W\] covering 64x43 cells/);
  });
});
