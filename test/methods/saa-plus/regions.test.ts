/**
 * SAA+'s property and confidence prompts on hand-made detector outputs and masks, against values
 * computed by hand.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DetectorRaw } from '../../../src/models/grounding-dino/postprocess.js';
import { builtinPhrases, categoryPrompts, phraseBook, readPhraseFile } from '../../../src/methods/saa-plus/phrases.js';
import { saaDefectBoxes, saaObjectPass } from '../../../src/methods/saa-plus/regions.js';
import { confidenceMap, meanInside, rescore, topK } from '../../../src/methods/saa-plus/rescore.js';
import { UserError } from '../../../src/util/errors.js';

/** A raw output for tokens [CLS] a b [SEP] with one row of probabilities per query. */
function raw(queries: Array<{ box: [number, number, number, number]; probs: [number, number] }>): DetectorRaw {
  const T = 4;
  const probs = new Float32Array(queries.length * T);
  queries.forEach((q, i) => {
    probs[i * T + 1] = q.probs[0];
    probs[i * T + 2] = q.probs[1];
  });
  return {
    numQueries: queries.length,
    inputIds: [101, 1, 2, 102],
    tokens: ['[CLS]', 'scratch', 'plate', '[SEP]'],
    boxes: Float32Array.from(queries.flatMap((q) => q.box)),
    probs,
    imageWidth: 200,
    imageHeight: 100,
  };
}

const params = { boxThreshold: 0.1, textThreshold: 0.1 };

describe('SAA+ property prompts', () => {
  it('object pass: boxes under 1/N of the image; the object area is the largest one, or 1', () => {
    const r = raw([
      { box: [0.5, 0.5, 0.6, 0.5], probs: [0, 0.8] }, // area 0.30
      { box: [0.3, 0.5, 0.4, 0.9], probs: [0, 0.5] }, // area 0.36
      { box: [0.5, 0.5, 0.9, 0.9], probs: [0, 0.9] }, // area 0.81: too big for N = 2
      { box: [0.5, 0.5, 0.1, 0.1], probs: [0, 0.05] }, // under the box threshold
    ]);
    const two = saaObjectPass(r, params, 2);
    expect(two.boxes.map((b) => b.query)).toEqual([0, 1]);
    expect(two.area).toBeCloseTo(0.36, 6);
    const one = saaObjectPass(r, params, 1);
    expect(one.boxes.map((b) => b.query)).toEqual([2, 0, 1]);
    expect(one.area).toBeCloseTo(0.81, 6);
    expect(saaObjectPass(raw([{ box: [0.5, 0.5, 0.1, 0.1], probs: [0, 0.01] }]), params, 1)).toEqual({ boxes: [], area: 1 });
  });

  it('defect pass: area under A x object area, and no phrase holding the filter word; no NMS', () => {
    const r = raw([
      { box: [0.2, 0.2, 0.1, 0.2], probs: [0.6, 0] }, // 'scratch', area 0.02: kept
      { box: [0.21, 0.2, 0.1, 0.2], probs: [0.5, 0] }, // overlaps the first: kept too (no NMS)
      { box: [0.5, 0.5, 0.5, 0.6], probs: [0.7, 0] }, // area 0.30 >= 0.5 * 0.5: dropped (area)
      { box: [0.7, 0.7, 0.1, 0.1], probs: [0.4, 0.2] }, // phrase 'scratch plate': dropped (phrase)
      { box: [0.7, 0.7, 0.0, 0.1], probs: [0.4, 0] }, // zero area: dropped (area)
    ]);
    const boxes = saaDefectBoxes([r, r], params, { objectArea: 0.5, maxArea: 0.5, filter: 'Plate' });
    expect(boxes).toHaveLength(10);
    expect(boxes.slice(0, 5).map((b) => [b.phrase, b.kept, b.dropped ?? null, b.prompt])).toEqual([
      ['scratch', true, null, 0],
      ['scratch', true, null, 0],
      ['scratch', false, 'area', 0],
      ['scratch plate', false, 'phrase', 0],
      ['scratch', false, 'area', 0],
    ]);
    expect(boxes[5].prompt).toBe(1);
    boxes[0].box.forEach((v, i) => expect(v).toBeCloseTo([30, 10, 50, 30][i], 4));
    expect(boxes[0].area).toBeCloseTo(0.02, 6);
    expect(boxes[0].score).toBe(Math.fround(0.6));
  });
});

describe('SAA+ saliency and confidence prompts', () => {
  // 2 x 2 image; masks over pixels {0,1}, {1,3}, {} (empty).
  const masks = [Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([0, 1, 0, 1]), new Uint8Array(4)];
  const saliency = Float32Array.from([0.1, 0.3, 0.5, 0.7]);

  it('rescores each box by exp(w * mean saliency inside its mask); an empty mask keeps its score', () => {
    const inside = meanInside(masks, saliency);
    expect(inside[0]).toBeCloseTo(0.2, 6);
    expect(inside[1]).toBeCloseTo(0.5, 6);
    expect(inside[2]).toBeNull();
    const r = rescore([0.5, 0.4, 0.3], inside, 3);
    expect(r[0]).toBeCloseTo(0.5 * Math.exp(0.6), 6); // 0.911
    expect(r[1]).toBeCloseTo(0.4 * Math.exp(1.5), 6); // 1.793
    expect(r[2]).toBe(0.3);
    // The saliency turned the order of the first two boxes.
    expect(topK(r, 2)).toEqual([1, 0]);
    expect(topK([1, 2, 2, 0], 2)).toEqual([1, 2]);
    expect(topK([1, 2], 5)).toEqual([1, 0]);
  });

  it('combines the kept masks as sum m*s / (1 + sum m)', () => {
    const map = confidenceMap(masks.slice(0, 2), [0.9, 1.8], 2, 2);
    // Pixel 0: 0.9 / 2; pixel 1: (0.9 + 1.8) / 3; pixel 2: nothing; pixel 3: 1.8 / 2.
    expect(Array.from(map)).toEqual([0.45, 0.9, 0, 0.9].map(Math.fround));
  });
});

describe('SAA+ phrase files', () => {
  it('loads the built-in files, each category once, and fills in the general prompts', () => {
    const book = builtinPhrases();
    for (const c of ['capsule', 'grid', 'metal_nut', 'metal_plate', 'mtd', 'kolektorsdd', 'hazelnut', 'candle', 'Class3', '01']) expect(book.has(c)).toBe(true);
    const p = categoryPrompts(book, 'metal_nut', ['defect on {object}', 'flaw on {object}']);
    expect(p.object).toBe('metal nut');
    expect(p.filter).toBe('nut');
    expect(p.prompts.slice(0, 2)).toEqual(['defect on metal nut', 'flaw on metal nut']);
    expect(p.prompts.length).toBeGreaterThan(2);
    expect(p.source).toMatch(/mvtec\.yaml$/);
    // A category no file names: its name as the object, general prompts only.
    expect(categoryPrompts(book, 'steel_pipe', ['defect on {object}'])).toEqual({ object: 'steel pipe', filter: 'steel pipe', prompts: ['defect on steel pipe'], source: 'general prompts only' });
  });

  it("takes a user's file over the built-ins, and names the problem in a bad one", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iapas-phrases-'));
    try {
      const good = join(dir, 'mine.yaml');
      await writeFile(good, 'categories:\n  capsule:\n    prompts: [tiny hole]\n');
      expect(categoryPrompts(phraseBook(good), 'capsule', []).prompts).toEqual(['tiny hole']);
      expect(phraseBook(good).get('grid')?.prompts.length).toBeGreaterThan(0);
      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, 'categories:\n  capsule:\n    phrases: [tiny hole]\n');
      expect(() => readPhraseFile(bad)).toThrow(UserError);
      expect(() => readPhraseFile(bad)).toThrow(/bad\.yaml: categories\.capsule: Unrecognized key/);
      expect(() => readPhraseFile(join(dir, 'none.yaml'))).toThrow(/none\.yaml: ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
