/** The object-tag vote of IAP-AS stage A on a fake detector: max score per phrase, top-1. */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../../src/image/types.js';
import { DEFAULT_DETECT_PARAMS, type DetectorRaw } from '../../../src/models/grounding-dino/postprocess.js';
import { objectTagFromReferences } from '../../../src/methods/iapas/object-tag.js';

describe('objectTagFromReferences grouping', () => {
  /** One query whose single token gets the probability given for that caption and image. */
  function fakeDetector(best: Map<number, [string, number]>) {
    return {
      async raw(image: RgbImage, caption: string): Promise<DetectorRaw> {
        const [phrase, p] = best.get(image.width)!;
        expect(caption).toBe('screw. bolt');
        return {
          numQueries: 1,
          inputIds: [101, 1, 102],
          tokens: ['[CLS]', phrase, '[SEP]'],
          boxes: Float32Array.from([0.5, 0.5, 0.5, 0.5]),
          probs: Float32Array.from([0, p, 0]),
          imageWidth: image.width,
          imageHeight: image.height,
        };
      },
    };
  }
  const tagger = { tag: async () => ({ tags: [], tagString: 'screw | bolt', caption: 'screw. bolt' }) };

  it('groups by phrase, takes each phrase\'s max score, and keeps the top-1', async () => {
    const best = new Map<number, [string, number]>([
      [1, ['screw', 0.6]],
      [2, ['bolt', 0.7]],
      [3, ['screw', 0.65]],
      [4, ['screw', 0.05]], // under box_threshold: no phrase from this image
    ]);
    const imgs = [1, 2, 3, 4].map((w) => ({ width: w, height: 1, data: new Uint8Array(3 * w) }));
    const res = await objectTagFromReferences(imgs, tagger, fakeDetector(best), DEFAULT_DETECT_PARAMS);
    expect(res.objectTag).toBe('bolt'); // max, not sum: bolt 0.7 beats screw 0.65 (sum 1.25)
    expect(res.candidates.map((c) => c.phrase)).toEqual(['bolt', 'screw']);
    expect(res.candidates[1].score).toBeCloseTo(0.65, 6);
    expect(res.perImage[3].phrase).toBeNull();
  });

  it('gives null when no image yields a phrase', async () => {
    const res = await objectTagFromReferences([], tagger, fakeDetector(new Map()), DEFAULT_DETECT_PARAMS);
    expect(res.objectTag).toBeNull();
  });
});
