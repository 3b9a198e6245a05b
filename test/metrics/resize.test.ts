import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resizeBicubic, resizeBilinear, resizeNearest } from '../../src/image/resize.js';
import { Lcg } from './golden-data.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/resize-golden.json', import.meta.url), 'utf8'));

describe('resize agrees with OpenCV cv2.resize (fixtures from tools/golden/metrics_golden.py)', () => {
  for (const c of golden.cases) {
    it(`${c.w}x${c.h} -> ${c.W}x${c.H}`, () => {
      const g = new Lcg(c.seed);
      const src = new Float32Array(c.w * c.h);
      for (let i = 0; i < src.length; i++) src[i] = g.next();
      const outs: Record<string, Float32Array> = {
        cubic: resizeBicubic(src, c.w, c.h, c.W, c.H),
        nearest: resizeNearest(src, c.w, c.h, c.W, c.H),
        linear: resizeBilinear(src, c.w, c.h, c.W, c.H),
      };
      for (const [key, out] of Object.entries(outs)) {
        const e = c[key];
        expect(out.length).toBe(c.W * c.H);
        if (e.values) {
          for (let i = 0; i < e.values.length; i++) expect(Math.abs(out[i] - e.values[i])).toBeLessThan(1e-6);
        } else {
          e.sample_index.forEach((idx: number, j: number) => expect(Math.abs(out[idx] - e.sample[j])).toBeLessThan(1e-6));
          const sum = out.reduce((a, b) => a + b, 0);
          expect(Math.abs(sum - e.sum) / c.W / c.H).toBeLessThan(1e-6);
        }
      }
    });
  }

  it('bicubic overshoots at a step edge like OpenCV (no clamping) and keeps constants', () => {
    const src = Float32Array.from([0, 0, 1, 1]);
    const up = resizeBicubic(src, 4, 1, 8, 1);
    expect(Math.min(...up)).toBeLessThan(0);
    expect(Math.max(...up)).toBeGreaterThan(1);
    const flat = resizeBicubic(new Float32Array(35).fill(0.3), 7, 5, 20, 3);
    for (const v of flat) expect(v).toBeCloseTo(0.3, 6);
  });

  it('nearest keeps mask values and types; sizes are validated', () => {
    const mask = Uint8Array.from([0, 1, 1, 0]);
    const out = resizeNearest(mask, 2, 2, 5, 5);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(new Set(out)).toEqual(new Set([0, 1]));
    expect(() => resizeBicubic(new Float32Array(3), 2, 2, 4, 4)).toThrow(/expected 2x2/);
  });
});
