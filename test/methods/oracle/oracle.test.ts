import { describe, expect, it } from 'vitest';
import { LOGIT_CLAMP, OracleAccumulator } from '../../../src/methods/oracle/accumulate.js';
import { columnTitle, imageSeed, oracleColumns, oraclePrompts, parseModes, parseRefineList } from '../../../src/methods/oracle/modes.js';
import { refineBaseFromSets } from '../../../src/commands/oracle.js';
import { refinePolicyFrom } from '../../../src/methods/components/sam-refine.js';
import { selectOracleSamples, type OracleResult } from '../../../src/methods/oracle/study.js';
import { longCsv, wideCsv } from '../../../src/methods/oracle/study-table.js';
import { mulberry32 } from '../../../src/util/random.js';
import type { Sample } from '../../../src/datasets/types.js';
import { CONFIG_DEFAULTS } from '../../../src/methods/registry.js';

describe('oracle modes', () => {
  it('parses mode lists and rejects unknown modes', () => {
    expect(parseModes('b, bps,b')).toEqual(['b', 'bps']);
    expect(() => parseModes('b,boxes')).toThrow(/unknown oracle mode 'boxes'/);
  });

  it('seeds each image from its identity only', () => {
    expect(imageSeed(0, 'grid', 'test/bent/000')).toBe(imageSeed(0, 'grid', 'test/bent/000'));
    expect(imageSeed(0, 'grid', 'test/bent/000')).not.toBe(imageSeed(0, 'grid', 'test/bent/001'));
    expect(imageSeed(0, 'grid', 'test/bent/000')).not.toBe(imageSeed(1, 'grid', 'test/bent/000'));
  });

  it('prompts one whole-image box (naive) or one prompt per region', () => {
    const w = 8;
    const h = 4;
    const gt = new Uint8Array(w * h);
    gt[1 * w + 1] = gt[1 * w + 2] = gt[2 * w + 2] = 1; // region 1
    gt[3 * w + 6] = gt[3 * w + 7] = 1; // region 2
    expect(oraclePrompts('naive', gt, w, h)).toEqual([{ box: [0, 0, 7, 3] }]);
    expect(oraclePrompts('b', gt, w, h)).toEqual([{ box: [1, 1, 2, 2] }, { box: [6, 3, 7, 3] }]);
    const bp = oraclePrompts('bp', gt, w, h);
    expect(bp.map((p) => p.points)).toEqual([[[2, 1]], [[6, 3]]]);
    const bps = oraclePrompts('bps', gt, w, h, { random: mulberry32(1), points: 20 });
    expect(bps.map((p) => p.points!.length)).toEqual([3, 2]);
    expect(oraclePrompts('b', new Uint8Array(w * h), w, h)).toEqual([]);
  });
});

describe('OracleAccumulator', () => {
  const w = 4;
  const h = 2;
  it('gives IoU 1 and P-AUROC 1 for a perfect prediction', () => {
    const acc = new OracleAccumulator(0);
    const gt = Uint8Array.from([0, 1, 1, 0, 0, 0, 0, 0]);
    const score = Float32Array.from([-5, 3, 4, -2, -9, -9, -1, -3]);
    acc.add(Uint8Array.from(gt), score, gt, w, h, 1);
    expect(acc.finish()).toEqual({ images: 1, iou: 1, iou_pooled: 1, pixel_auroc: 1, pixel_auroc_logit: 1, prompts: 1, decoder_calls: 1, decoder_ms: 0 });
  });

  it('averages IoU per image (iou) and over pooled pixels (iou_pooled)', () => {
    const acc = new OracleAccumulator(0);
    // Image 1: 1 of 2 gt pixels found, nothing else: IoU 1/2. Image 2: 6 gt pixels all found + 2 false: 6/8.
    const gt1 = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 0]);
    acc.add(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0]), null, gt1, w, h, 0);
    const gt2 = Uint8Array.from([1, 1, 1, 1, 1, 1, 0, 0]);
    acc.add(Uint8Array.from([1, 1, 1, 1, 1, 1, 1, 1]), Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1]), gt2, w, h, 2);
    const f = acc.finish();
    expect(f.iou).toBeCloseTo((0.5 + 0.75) / 2, 12);
    expect(f.iou_pooled).toBeCloseTo(7 / 10, 12);
    expect(f.prompts).toBe(2);
    // Image 1 has no prompts: all its pixels score -LOGIT_CLAMP, below every pixel of image 2.
    // Positives: 2 at -100, 6 at 1; negatives: 6 at -100, 2 at 1.
    // AUROC = P(pos > neg) + 0.5 P(tie) = (6*6 + 0.5*(2*6 + 6*2)) / 64
    expect(f.pixel_auroc_logit).toBeCloseTo((36 + 12) / 64, 12);
    // Probabilities: image 1 scores 0, image 2 sigmoid(1); the same ranking.
    expect(f.pixel_auroc).toBeCloseTo((36 + 12) / 64, 12);
    expect(LOGIT_CLAMP).toBe(100);
  });

  it('shows float32 probability saturation: confident logits tie at exactly 1', () => {
    const acc = new OracleAccumulator(0);
    const gt = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 0]);
    // sigmoid(20), sigmoid(30), sigmoid(40) all round to 1 in float32.
    const score = Float32Array.from([40, 30, 20, 20, -50, -50, -50, -50]);
    acc.add(Uint8Array.from([1, 1, 1, 1, 0, 0, 0, 0]), score, gt, w, h, 1);
    const f = acc.finish();
    expect(f.pixel_auroc_logit).toBe(1);
    // Positives tie with 2 of 6 negatives: 1 - (2 * 2 * 0.5) / 12.
    expect(f.pixel_auroc).toBeCloseTo(1 - 2 / 12, 12);
  });

  it('resizes maps to the evaluation size and keeps IoU at native size', () => {
    const acc = new OracleAccumulator(2);
    const gt = Uint8Array.from([0, 0, 1, 1, 0, 0, 1, 1]);
    const score = Float32Array.from([-4, -4, 4, 4, -4, -4, 4, 4]);
    acc.add(Uint8Array.from(gt), score, gt, w, h, 1);
    const f = acc.finish();
    expect(f.iou).toBe(1);
    expect(f.pixel_auroc).toBe(1);
  });
});

describe('oracle sample selection and tables', () => {
  const s = (relId: string, label: 'normal' | 'anomalous'): Sample => ({
    category: 'c',
    split: 'test',
    imagePath: `/d/c/${relId}.png`,
    maskPath: label === 'anomalous' ? `/d/c/${relId}_mask.png` : null,
    label,
    defectType: label === 'normal' ? 'good' : 'x',
    relId,
  });
  const samples = [...Array.from({ length: 10 }, (_, i) => s(`test/x/${i}`, 'anomalous')), s('test/good/0', 'normal')];

  it('takes all anomalous images, or a seeded sorted subset, and normal ones only when asked', () => {
    expect(selectOracleSamples(samples, 'c', { modes: ['b'] }).anomalous).toHaveLength(10);
    const a = selectOracleSamples(samples, 'c', { modes: ['b'], maxImages: 3, seed: 5 });
    const b = selectOracleSamples(samples, 'c', { modes: ['b'], maxImages: 3, seed: 5 });
    expect(a.anomalous.map((x) => x.relId)).toEqual(b.anomalous.map((x) => x.relId));
    expect([...a.anomalous.map((x) => x.relId)].sort()).toEqual(a.anomalous.map((x) => x.relId));
    expect(a.normal).toEqual([]);
    expect(selectOracleSamples(samples, 'c', { modes: ['b'], includeNormal: true }).normal).toHaveLength(1);
  });

  it('writes the seed-style table with a mean row', () => {
    const fig = (iou: number, au: number) => ({ images: 2, iou, iou_pooled: iou, pixel_auroc: au, pixel_auroc_logit: au, prompts: 3, decoder_calls: 3, decoder_ms: 30 });
    const r: OracleResult = {
      model: 'm',
      modes: ['b', 'bp'],
      columns: ['b', 'bp'],
      seed: 0,
      points: 20,
      evalSize: 400,
      maxImages: null,
      includeNormal: false,
      categories: [
        { category: 'a', anomalous: 2, normal: 0, figures: { b: fig(0.5, 0.9), bp: fig(0.6, 0.95) } },
        { category: 'b', anomalous: 2, normal: 0, figures: { b: fig(0.7, 0.8), bp: fig(0.8, 0.85) } },
      ],
      mean: { b: { iou: 0.6, iou_pooled: 0.6, pixel_auroc: 0.85, pixel_auroc_logit: 0.85 }, bp: { iou: 0.7, iou_pooled: 0.7, pixel_auroc: 0.9, pixel_auroc_logit: 0.9 } },
      warnings: [],
      timing: { images: 4, encoder_ms_per_image: 1, decoder_ms_per_prompt: 1, total_s: 1 },
    };
    expect(wideCsv(r).split('\n')).toEqual([
      'category,images,box: IoU / P-AUROC,box + 1 point: IoU / P-AUROC',
      'a,2,50.0 / 90.0,60.0 / 95.0',
      'b,2,70.0 / 80.0,80.0 / 85.0',
      'mean,4,60.0 / 85.0,70.0 / 90.0',
      '',
    ]);
    expect(longCsv(r).split('\n')[1]).toBe('a,b,2,3,3,30,0.500000,0.500000,0.900000,0.900000');
  });
});

describe('oracle refinement columns', () => {
  const base = refinePolicyFrom(CONFIG_DEFAULTS.sam);

  it('adds each policy as a column per GT-derived mode, never to naive', () => {
    const policies = parseRefineList('self, multimask:map,self', base);
    expect(policies.map((p) => p.refine + '/' + p.multimask)).toEqual(['self/off', 'none/map']);
    expect(oracleColumns(['naive', 'b', 'bp'], policies).map((c) => c.name)).toEqual(['naive', 'b', 'bp', 'b+self', 'bp+self', 'b+multimask:map', 'bp+multimask:map']);
    expect(columnTitle('bp+self+multimask')).toBe('box + 1 point, self+multimask');
    expect(columnTitle('bps')).toBe('box + 20 points');
    expect(() => parseRefineList('selfie', base)).toThrow(/unknown refinement policy 'selfie'/);
  });

  it('takes refinement parameters from --set sam.* only', () => {
    expect(refineBaseFromSets(['sam.self_iterations=5', 'sam.cascade_positive=1'])).toMatchObject({ selfIterations: 5, cascadePositive: 1, selfStopIou: base.selfStopIou });
    expect(() => refineBaseFromSets(['detector.box_threshold=0.2'])).toThrow(/--set takes sam\.\* keys only, got 'detector'/);
    expect(() => refineBaseFromSets(['sam.model=x'])).toThrow(/--sam-encoder/);
    expect(() => refineBaseFromSets(['sam.self_iterations=0'])).toThrow(/self_iterations/);
    expect(() => refineBaseFromSets(['sam.selfiterations=2'])).toThrow(/unknown key/);
  });
});
