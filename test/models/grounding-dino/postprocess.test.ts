import { describe, expect, it } from 'vitest';
import {
  decodeRaw,
  decodeWordpieces,
  encodeRaw,
  phraseOf,
  thresholdDetections,
} from '../../../src/models/grounding-dino/postprocess.js';
import { rawOf } from '../../support/detector-raw.js';

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

describe('cache encoding', () => {
  it('round-trips a raw output exactly', () => {
    const raw = rawOf(['[CLS]', 'crack', '.', '[SEP]'], [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], 7, 9);
    const back = decodeRaw(encodeRaw(raw));
    expect(back).toEqual(raw);
    const bytes = encodeRaw(raw);
    expect(() => decodeRaw(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
  });
});
