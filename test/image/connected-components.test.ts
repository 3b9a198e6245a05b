import { describe, expect, it } from 'vitest';
import { labelComponents } from '../../src/image/connected-components.js';

const grid = (rows: string[]) => ({
  mask: Uint8Array.from(rows.join('').split('').map((c) => (c === '#' ? 1 : 0))),
  width: rows[0].length,
  height: rows.length,
});

describe('labelComponents', () => {
  it('joins diagonal neighbours (8-connectivity) and separates distant blobs', () => {
    const { mask, width, height } = grid(['#....', '.#...', '....#', '...##']);
    const { components, labels } = labelComponents(mask, width, height);
    expect(components).toHaveLength(2);
    expect(components[0]).toMatchObject({ label: 1, area: 2, x0: 0, y0: 0, x1: 1, y1: 1 });
    expect(components[1]).toMatchObject({ label: 2, area: 3, x0: 3, y0: 2, x1: 4, y1: 3 });
    expect(labels[6]).toBe(1);
    expect(labels[2 * 5 + 4]).toBe(2);
  });

  it('finds nothing in an empty mask and one component in a full one', () => {
    expect(labelComponents(new Uint8Array(12), 4, 3).components).toHaveLength(0);
    const full = labelComponents(new Uint8Array(12).fill(1), 4, 3);
    expect(full.components).toEqual([{ label: 1, area: 12, x0: 0, y0: 0, x1: 3, y1: 2 }]);
  });

  it('rejects a mask of the wrong size', () => {
    expect(() => labelComponents(new Uint8Array(5), 2, 3)).toThrow(/expected 2x3/);
  });
});
