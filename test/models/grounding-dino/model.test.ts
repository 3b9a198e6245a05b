import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyGroundingDino, buildTinyRam, type TinyGdinoSpec } from '../../support/tiny-models.js';
import { GroundingDino, resizedSize, subSentenceMasks } from '../../../src/models/grounding-dino/model.js';
import { anomalyPass, objectPass, sizeFilter } from '../../../src/methods/iapas/detector-passes.js';
import { sigmoid } from '../../../src/util/numeric.js';
import type { RgbImage } from '../../../src/image/types.js';
import { DiskCache } from '../../../src/util/disk-cache.js';
import { UserError } from '../../../src/util/errors.js';
import { describeWithShared, SHARED } from '../../support/shared.js';

const SPEC: TinyGdinoSpec = {
  numQueries: 50,
  queries: [
    { box: [0.5, 0.5, 0.6, 0.6], tokens: { screw: 0.8 } }, // the object: area 0.36
    { box: [0.3, 0.3, 0.1, 0.1], tokens: { scratch: 0.6 } }, // area 0.01
    { box: [0.31, 0.3, 0.1, 0.1], tokens: { scratch: 0.3 } }, // IoU with the one above 0.82: NMS drops it
    { box: [0.7, 0.7, 0.2, 0.2], tokens: { crack: 0.05 } }, // below box_threshold 0.1
    { box: [0.6, 0.4, 0.5, 0.5], tokens: { hole: 0.4, screw: 0.15 } }, // area 0.25, IoU 0.497 with the object
    { box: [0.5, 0.85, 1.0, 0.3], tokens: { defect: 0.35 } }, // area 0.3 > 0.36 * 0.8: the size filter drops it
  ],
};

function uniform(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

const norm = (v: number, c: number) => (v / 255 - [0.485, 0.456, 0.406][c]) / [0.229, 0.224, 0.225][c];

describe('resizedSize (HF get_size_with_aspect_ratio)', () => {
  it.each([
    [480, 640, 800, 1066],
    [640, 480, 1066, 800],
    [800, 800, 800, 800],
    [500, 2000, 333, 1332], // longest edge bound: size = round(1333 * 500 / 2000) = 333
    [1024, 1024, 800, 800],
    [800, 1200, 800, 1200], // already at size: unchanged
  ])('%i x %i -> %i x %i', (h, w, eh, ew) => {
    expect(resizedSize(h, w, 800, 1333)).toEqual([eh, ew]);
  });
});

describeWithShared('Grounding DINO adapter on tiny ONNX graphs', [SHARED.bertTokenizer], () => {
  let root: string;
  let hf: GroundingDino;
  let probe: number;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'gdino-'));
    const info = await buildTinyGroundingDino(join(root, 'hf'), SPEC);
    probe = info.probeQuery;
    hf = await GroundingDino.load(info.dir);
  });
  afterAll(async () => {
    await hf?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('detects the HF layout and feeds pre-processed pixels, pixel_mask and size', async () => {
    expect(hf.layout).toBe('hf');
    const raw = await hf.infer(uniform(640, 480, [200, 100, 50]), 'screw');
    const p = Array.from(raw.boxes.subarray(probe * 4, probe * 4 + 4));
    // rescale + ImageNet mean/std on the red plane (ORT's float32 ReduceMean over 850k pixels: 1e-3)
    expect(p[0]).toBeCloseTo(sigmoid(norm(200, 0)), 3);
    expect(p[1]).toBeCloseTo(1, 6); // pixel_mask all ones
    expect(p[2]).toBeCloseTo(800 / 2000, 6); // resized height
    expect(p[3]).toBeCloseTo(1066 / 2000, 6); // resized width
    const wide = await hf.infer(uniform(400, 100, [0, 0, 0]), 'screw');
    const q = Array.from(wide.boxes.subarray(probe * 4, probe * 4 + 4));
    expect(q[0]).toBeCloseTo(sigmoid(norm(0, 0)), 3);
    expect([q[2] * 2000, q[3] * 2000].map(Math.round)).toEqual([333, 1332]);
  });

  it('pre-processes to CHW, rescaled and normalised per channel', async () => {
    const px = await hf.preprocess(uniform(640, 480, [200, 100, 50]));
    expect([px.width, px.height]).toEqual([1066, 800]);
    const plane = px.width * px.height;
    [200, 100, 50].forEach((v, c) => {
      expect(px.data[c * plane]).toBeCloseTo(norm(v, c), 5);
      expect(px.data[c * plane + plane - 1]).toBeCloseTo(norm(v, c), 5);
    });
  });

  it('object pass finds the object box only when its word is in the caption', async () => {
    const img = uniform(400, 300, [90, 90, 90]);
    const raw = await hf.infer(img, 'Screw');
    expect(raw.tokens).toEqual(['[CLS]', 'screw', '.', '[SEP]']);
    const obj = objectPass(raw)!;
    expect(obj.phrase).toBe('screw');
    expect(obj.score).toBeCloseTo(0.8, 5);
    expect(obj.objectSize).toBeCloseTo(0.36, 5);
    [80, 60, 320, 240].forEach((v, i) => expect(obj.box[i]).toBeCloseTo(v, 3));
    const none = await hf.infer(img, 'bottle');
    expect(objectPass(none)).toBeNull();
  });

  it('anomaly pass: thresholds, phrases, NMS, then the size filter', async () => {
    const img = uniform(400, 300, [90, 90, 90]);
    const raw = await hf.infer(img, ' . scratch, crack, hole, abnormal, defect, screw.');
    const dets = anomalyPass(raw, { boxThreshold: 0.1, textThreshold: 0.1, nmsIou: 0.5 });
    expect(dets.map((d) => [d.query, d.phrase])).toEqual([
      [0, 'screw'],
      [1, 'scratch'],
      [4, 'hole screw'],
      [5, 'defect'],
    ]);
    const obj = objectPass(await hf.infer(img, 'screw'))!;
    const kept = sizeFilter(dets, obj.objectSize, 0.8, 400, 300); // 0.36 * 0.8 = 0.288
    expect(kept.map((d) => d.query)).toEqual([1, 4]);
    // text_threshold 0.3 leaves only 'hole' in the phrase of query 4; box_threshold 0.5 leaves two boxes
    expect(anomalyPass(raw, { boxThreshold: 0.1, textThreshold: 0.3, nmsIou: 0.5 })[2].phrase).toBe('hole');
    expect(anomalyPass(raw, { boxThreshold: 0.5, textThreshold: 0.1, nmsIou: 0.5 }).map((d) => d.query)).toEqual([0, 1]);
    // without NMS (IoU 1) the overlapping scratch box survives
    expect(anomalyPass(raw, { boxThreshold: 0.1, textThreshold: 0.1, nmsIou: 1 }).map((d) => d.query)).toContain(2);
  });

  it('caches raw outputs on disk so a threshold sweep runs no model', async () => {
    const cache = new DiskCache(join(root, 'cache'));
    const m = await GroundingDino.load(join(root, 'hf'), { cache });
    const img = uniform(64, 48, [10, 200, 30]);
    const a = await m.infer(img, 'scratch. screw');
    const b = await m.infer(img, 'Scratch. Screw.'); // same prepared caption -> same key
    expect(cache.stats.get('gdino')).toEqual({ hits: 1, misses: 1 });
    expect(b.probs).toEqual(a.probs);
    expect(b.boxes).toEqual(a.boxes);
    await m.infer(uniform(64, 48, [10, 200, 31]), 'scratch. screw');
    expect(cache.stats.get('gdino')).toEqual({ hits: 1, misses: 2 });
    await m.dispose();
  });

  it('runs the IDEA-Research export layout with sub-sentence masks and position ids', async () => {
    const info = await buildTinyGroundingDino(join(root, 'idea'), { ...SPEC, layout: 'idea', modelFile: 'model_int8.onnx' });
    const m = await GroundingDino.load(info.dir);
    expect(m.layout).toBe('idea');
    expect(m.modelPath.endsWith('model_int8.onnx')).toBe(true);
    const img = uniform(400, 300, [90, 90, 90]);
    const caption = ' . scratch, crack, hole, abnormal, defect, screw.';
    const raw = await m.infer(img, caption);
    const { mask, positionIds } = subSentenceMasks(raw.inputIds, m.tokenizer.specialIds);
    const expected = positionIds.reduce((a, b) => a + b, 0) / 1000 + mask.reduce((a, b) => a + b, 0) / 1e6;
    expect(raw.boxes[info.probeQuery * 4 + 1]).toBeCloseTo(expected, 6);
    const ref = await hf.infer(img, caption);
    expect(anomalyPass(raw)).toEqual(anomalyPass(ref));
    await m.dispose();
  });

  it('feeds only the optional inputs an HF export declares', async () => {
    const info = await buildTinyGroundingDino(join(root, 'lean'), { ...SPEC, omitInputs: ['token_type_ids', 'pixel_mask', 'attention_mask'] });
    const m = await GroundingDino.load(info.modelPath); // a bare .onnx path finds its hub folder
    expect(m.layout).toBe('hf');
    const img = uniform(400, 300, [90, 90, 90]);
    const raw = await m.infer(img, 'screw');
    expect(raw.boxes[info.probeQuery * 4 + 1]).toBe(-1);
    expect(objectPass(raw)?.phrase).toBe('screw');
    await m.dispose();
  });

  it('refuses a model whose inputs match no supported export', async () => {
    const p = await buildTinyRam(join(root, 'ram', 'model.onnx'), { tags: {} });
    await expect(GroundingDino.load(join(root, 'ram'))).rejects.toThrow(UserError);
    await expect(GroundingDino.load(join(root, 'ram'))).rejects.toThrow(/pixel_values, input_ids/);
    expect(p).toContain('model.onnx');
  });
});
