import { describe, expect, it } from 'vitest';
import { pasteDefects } from '../../src/synth/paste.js';
import { mulberry32 } from '../../src/util/random.js';

function noisyImage(side: number, seed: number): { width: number; height: number; data: Uint8Array } {
  const r = mulberry32(seed);
  return { width: side, height: side, data: Uint8Array.from({ length: side * side * 3 }, () => 80 + Math.floor(r() * 60)) };
}

describe('synthetic defects pasted on a real image', () => {
  const image = noisyImage(96, 3);

  it('changes the masked pixels only, leaves the input alone, and marks a real area per defect', () => {
    const before = image.data.slice();
    const p = pasteDefects(image, 3, 42);
    expect(Array.from(image.data)).toEqual(Array.from(before));
    expect(p.kinds).toEqual(['scratch', 'hole', 'stain']);
    let inside = 0;
    let changedInside = 0;
    for (let i = 0; i < p.mask.length; i++) {
      const changed = [0, 1, 2].some((k) => p.image.data[3 * i + k] !== image.data[3 * i + k]);
      if (!p.mask[i]) expect(changed).toBe(false);
      else {
        inside++;
        if (changed) changedInside++;
      }
    }
    expect(inside).toBeGreaterThan(20);
    expect(changedInside / inside).toBeGreaterThan(0.9);
  });

  it('is a function of (image, count, seed)', () => {
    const a = pasteDefects(image, 2, 7);
    expect(Array.from(pasteDefects(image, 2, 7).mask)).toEqual(Array.from(a.mask));
    expect(Array.from(pasteDefects(image, 2, 8).mask)).not.toEqual(Array.from(a.mask));
    expect(pasteDefects(image, 0, 7).mask.some((v) => v > 0)).toBe(false);
  });
});
