import { describe, expect, it } from 'vitest';
import { clampBox } from '../../../src/image/box.js';
import {
  anomalyPass,
  cxcywhToXyxy,
  decodeRaw,
  decodeWordpieces,
  encodeRaw,
  iou,
  nms,
  objectPass,
  phraseOf,
  sizeFilter,
  thresholdDetections,
  type DetectorRaw,
} from '../../../src/models/grounding-dino/postprocess.js';

/** A raw output with hand-set probabilities: rows[q][t] over tokens. */
function rawOf(tokens: string[], rows: number[][], boxes: number[][], W = 200, H = 100): DetectorRaw {
  return {
    numQueries: rows.length,
    inputIds: tokens.map((_, i) => i + 1000),
    tokens,
    boxes: Float32Array.from(boxes.flat()),
    probs: Float32Array.from(rows.flat()),
    imageWidth: W,
    imageHeight: H,
  };
}

describe('boxes', () => {
  it('converts normalised cxcywh to pixel xyxy', () => {
    expect(cxcywhToXyxy([0.5, 0.5, 0.2, 0.4], 200, 100)).toEqual([80, 30, 120, 70]);
    expect(cxcywhToXyxy([0.1, 0.9, 0.2, 0.2], 10, 10)).toEqual([0, 8, 2, 10]);
  });

  it('computes IoU by hand-worked cases', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150, 12);
    expect(iou([0, 0, 10, 10], [10, 10, 20, 20])).toBe(0);
    expect(iou([0, 0, 10, 10], [2, 2, 4, 4])).toBeCloseTo(4 / 100, 12);
  });

  it('NMS keeps by descending score and drops IoU > 0.5 only', () => {
    const dets = [
      { box: [0, 0, 10, 10], score: 0.6, id: 'a' },
      { box: [1, 0, 11, 10], score: 0.9, id: 'b' }, // IoU(a,b) = 90/110 = 0.818 -> a dropped
      { box: [20, 0, 30, 10], score: 0.5, id: 'c' }, // disjoint -> kept
      { box: [0, 0, 10, 10], score: 0.4, id: 'd' }, // IoU(b,d) = 0.818 -> dropped
      // IoU with c: overlap 10x10/ (100+200-100) = 0.5 exactly -> kept (not > 0.5)
      { box: [20, 0, 40, 10], score: 0.3, id: 'e' },
    ];
    expect(nms(dets, 0.5).map((d) => d.id)).toEqual(['b', 'c', 'e']);
    expect(nms(dets, 0.9).map((d) => d.id)).toEqual(['b', 'a', 'c', 'e']); // d duplicates a
  });

  it('clamps boxes to the image', () => {
    expect(clampBox([-5, 3, 250, 120], 200, 100)).toEqual([0, 3, 200, 100]);
  });
});

describe('phrases and thresholds', () => {
  const tokens = ['[CLS]', 'hazel', '##nut', '.', 'scratch', '.', 'metal', 'nut', ',', 'dent', '.', '[SEP]'];
  it('joins wordpieces as BERT decodes them', () => {
    expect(decodeWordpieces(['hazel', '##nut'])).toBe('hazelnut');
    expect(decodeWordpieces(['metal', 'nut', ',', 'dent'])).toBe('metal nut, dent');
  });

  it('builds the phrase from tokens over text_threshold, without specials and dots', () => {
    const row = [0.9, 0.5, 0.45, 0.8, 0.05, 0.3, 0.2, 0.15, 0.01, 0.09, 0.3, 0.95];
    const raw = rawOf(tokens, [row], [[0.5, 0.5, 0.1, 0.1]]);
    expect(phraseOf(raw, 0, 0.1)).toBe('hazelnut metal nut');
    expect(phraseOf(raw, 0, 0.4)).toBe('hazelnut');
    expect(phraseOf(raw, 0, 0.5)).toBe(''); // 0.5 is not > 0.5 (compared in float32, as torch does)
  });

  it('keeps a box only when its max token probability > box_threshold (specials count, as in the reference)', () => {
    const t = ['[CLS]', 'scratch', '.', '[SEP]'];
    const raw = rawOf(
      t,
      [
        [0.01, 0.3, 0.02, 0.01], // score 0.3
        [0.01, 0.1, 0.02, 0.01], // score 0.1: not > 0.1
        [0.01, 0.05, 0.02, 0.4], // score 0.4 from [SEP], empty phrase
      ],
      [
        [0.5, 0.5, 0.2, 0.2],
        [0.2, 0.2, 0.1, 0.1],
        [0.8, 0.8, 0.1, 0.1],
      ],
    );
    const d = thresholdDetections(raw, { boxThreshold: 0.1, textThreshold: 0.1 });
    expect(d.map((x) => [x.query, x.phrase])).toEqual([
      [0, 'scratch'],
      [2, ''],
    ]);
    [80, 40, 120, 60].forEach((v, i) => expect(d[0].box[i]).toBeCloseTo(v, 4));
    expect(d[0].score).toBeCloseTo(0.3, 6);
  });
});

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

describe('cache encoding', () => {
  it('round-trips a raw output exactly', () => {
    const raw = rawOf(['[CLS]', 'crack', '.', '[SEP]'], [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], 7, 9);
    const back = decodeRaw(encodeRaw(raw));
    expect(back).toEqual(raw);
    const bytes = encodeRaw(raw);
    expect(() => decodeRaw(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
  });
});
