/**
 * Reference copies in the memory bank (fewshot.augment) with a stand-in backbone whose features
 * see direction: per pixel its horizontal and vertical steps. References have horizontal stripes;
 * a query with the same stripes turned a quarter is far from every reference patch until the
 * bank holds the references' quarter turns.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/image/types.js';
import { rotateQuarter } from '../../../src/image/warp.js';
import type { Backbone, FeatureGrid } from '../../../src/models/backbones/types.js';
import { referenceCopies } from '../../../src/methods/fewshot/augment.js';
import { prepareMemoryBank, scoreScales } from '../../../src/methods/fewshot/memory-bank.js';

const SIDE = 16;

function stripes(phase: number, seed: number): RgbImage {
  const data = new Uint8Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++) data.fill(((y + phase) >> 1) % 2 ? 200 : 40 + ((x * 7 + y * 3 + seed) % 5), (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
  return { width: SIDE, height: SIDE, data };
}

/** Per pixel [step to the right, step down, 0.3, a little noise]: one cell per pixel, no two alike. */
const stepBackbone: Backbone = {
  name: 'steps',
  scaleNames: ['steps'],
  id: async () => 'steps',
  extract: async (image) => grid(image),
  extractScales: async (image) => [grid(image)],
};

function grid(image: RgbImage): FeatureGrid {
  const { width: w, height: h, data } = image;
  const out = new Float32Array(w * h * 4);
  let seed = data[1] * 7919 + 1;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.02;
  const v = (x: number, y: number) => data[(Math.min(h - 1, y) * w + Math.min(w - 1, x)) * 3] / 255;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      out[i] = v(x + 1, y) - v(x, y);
      out[i + 1] = v(x, y + 1) - v(x, y);
      out[i + 2] = 0.3;
      out[i + 3] = noise();
    }
  return { data: out, gridWidth: w, gridHeight: h, dim: 4, coverWidth: w, coverHeight: h };
}

const maxOf = (a: Float32Array) => a.reduce((m, x) => Math.max(m, x), -Infinity);

describe('fewshot.augment', () => {
  const refs = [stripes(0, 1), stripes(1, 2), stripes(0, 3)];
  const turned = rotateQuarter(stripes(1, 4), 1);

  it('a quarter-turned normal query is far from plain references and near once the bank holds their turns', async () => {
    const plain = await prepareMemoryBank(stepBackbone, refs);
    const augmented = await prepareMemoryBank(stepBackbone, refs, { augment: referenceCopies('rot90') });
    const far = maxOf((await scoreScales([grid(turned)], plain))[0].scores);
    const near = maxOf((await scoreScales([grid(turned)], augmented))[0].scores);
    expect(far).toBeGreaterThan(0.5);
    expect(near).toBeLessThan(0.05);
    // An unturned query is near either way: the copies add, they do not replace.
    expect(maxOf((await scoreScales([grid(stripes(1, 5))], augmented))[0].scores)).toBeLessThan(0.05);
  });

  it('the copies share the coreset of their reference: the bank keeps the size it has without them', async () => {
    const coreset = { fraction: 0.25, minRows: 0, scope: 'reference' as const, projection: 4, seed: 0 };
    const plain = await prepareMemoryBank(stepBackbone, refs, { coreset });
    const augmented = await prepareMemoryBank(stepBackbone, refs, { coreset, augment: referenceCopies('rot90') });
    expect(plain.scales[0].kept).toBe(3 * 64);
    expect(augmented.scales[0].kept).toBe(plain.scales[0].kept);
    expect(augmented.referenceCount).toBe(3);
  });

  it('leave-one-out never compares a reference with its own copies', async () => {
    // A striped and a flat reference: the stripes' edges have no partner in the flat one or its
    // turns, so their leave-one-out distance stays high; had the striped reference's own turns
    // been in its leave-one-out bank, its edges would have matched (its half turn is itself).
    const flat: RgbImage = { width: SIDE, height: SIDE, data: new Uint8Array(SIDE * SIDE * 3).fill(120) };
    const augmented = await prepareMemoryBank(stepBackbone, [stripes(0, 1), flat], { augment: referenceCopies('rot90') });
    expect(augmented.referenceStats!.max).toBeGreaterThan(0.5);
    // Two striped references at right angles: far apart without copies, near with the turns.
    const pair = [stripes(0, 1), rotateQuarter(stripes(0, 2), 1)];
    expect((await prepareMemoryBank(stepBackbone, pair)).referenceStats!.max).toBeGreaterThan(0.5);
    expect((await prepareMemoryBank(stepBackbone, pair, { augment: referenceCopies('rot90') })).referenceStats!.max).toBeLessThan(0.05);
    // 'flip' makes no quarter turns: mirror images of horizontal stripes stay horizontal.
    expect((await prepareMemoryBank(stepBackbone, pair, { augment: referenceCopies('flip') })).referenceStats!.max).toBeGreaterThan(0.5);
  });

  it('each mode makes its copies; none makes none', () => {
    const img = stripes(0, 1);
    expect(referenceCopies('none')).toBeUndefined();
    expect(referenceCopies('rot90')!(img)).toHaveLength(3);
    expect(referenceCopies('rot45')!(img)).toHaveLength(7);
    expect(referenceCopies('flip')!(img)).toHaveLength(2);
  });
});
