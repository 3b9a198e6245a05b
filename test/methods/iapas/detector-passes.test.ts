import { describe, expect, it } from 'vitest';
import { anomalyPass, objectPass, sizeFilter } from '../../../src/methods/iapas/detector-passes.js';
import { rawOf } from '../../support/detector-raw.js';

describe('object pass, anomaly pass, size filter', () => {
  const t = ['[CLS]', 'screw', '.', 'scratch', '.', '[SEP]'];
  const raw = rawOf(
    t,
    [
      [0, 0.7, 0, 0, 0, 0], // big screw box
      [0, 0.6, 0, 0, 0, 0], // overlapping screw box
      [0, 0, 0, 0.5, 0, 0], // small scratch
      [0, 0, 0, 0.35, 0, 0], // medium scratch
    ],
    [
      [0.5, 0.5, 0.8, 0.6], // area 0.48
      [0.52, 0.5, 0.8, 0.6],
      [0.3, 0.3, 0.1, 0.1], // 0.01
      [0.7, 0.7, 0.6, 0.6], // 0.36
    ],
    400,
    300,
  );

  it('object pass returns the single best box and its normalised area', () => {
    const o = objectPass(raw)!;
    expect(o.query).toBe(0);
    expect(o.phrase).toBe('screw');
    expect(o.objectSize).toBeCloseTo(0.48, 6);
    expect(objectPass(raw, { boxThreshold: 0.8, textThreshold: 0.1, nmsIou: 0.5 })).toBeNull();
  });

  it('anomaly pass keeps all boxes after NMS', () => {
    expect(anomalyPass(raw).map((d) => d.query)).toEqual([0, 2, 3]);
  });

  it('size filter keeps area < object_size * size_threshold', () => {
    const dets = anomalyPass(raw);
    // 0.48 * 0.8 = 0.384: keeps 0.01 and 0.36, drops 0.48
    expect(sizeFilter(dets, 0.48, 0.8, 400, 300).map((d) => d.query)).toEqual([2, 3]);
    // 0.48 * 0.75 = 0.36: 0.36 is not < 0.36
    expect(sizeFilter(dets, 0.48, 0.75, 400, 300).map((d) => d.query)).toEqual([2]);
  });
});
