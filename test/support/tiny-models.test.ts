import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DT, GraphBuilder } from '../../src/models/onnx/graph.js';
import { buildTinyGroundingDino, buildTinyRam, logit } from './tiny-models.js';
import { describeWithShared, SHARED } from './shared.js';

const i64 = (a: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(a, BigInt), dims);

describe('ONNX graph writer', () => {
  it('writes a graph onnxruntime runs, with the declared names, dtypes and symbolic dims', async () => {
    const g = new GraphBuilder();
    g.input('x', DT.INT64, ['b', 'n']);
    const xf = g.op('Cast', ['x'], { to: DT.FLOAT });
    g.op('Mul', [xf, g.constF32([0.5], [1])], {}, 'y');
    g.output('y', DT.FLOAT, ['b', 'n']);
    const s = await ort.InferenceSession.create(g.toBytes());
    expect(s.inputMetadata[0]).toMatchObject({ name: 'x', type: 'int64', shape: ['b', 'n'] });
    const r = await s.run({ x: i64([2, 5, -4], [1, 3]) });
    expect(Array.from(r.y.data as Float32Array)).toEqual([1, 2.5, -2]);
  });

  it('writes Loop bodies as graph attributes: outer values read by name, carried state, scan outputs, early stop', async () => {
    // Doubles `v` (carried) and adds the outer `step` each iteration, emitting v; stops once v > limit.
    const g = new GraphBuilder('loop');
    const v0 = g.input('v0', DT.FLOAT, [2]);
    const step = g.input('step', DT.FLOAT, [2]);
    const limit = g.input('limit', DT.FLOAT, []);
    const body = g.subgraph('body');
    body.input('i', DT.INT64, []);
    body.input('cond_in', DT.BOOL, []);
    const v = body.input('v_in', DT.FLOAT, [2]);
    const next = body.op('Add', [body.op('Mul', [v, body.constF32([2], [])]), step], {}, 'v_out');
    body.op('Greater', [limit, body.op('ReduceMax', [next], { keepdims: 0 })], {}, 'cond_out');
    body.op('Identity', [next], {}, 'emitted');
    body.output('cond_out', DT.BOOL, []);
    body.output('v_out', DT.FLOAT, [2]);
    body.output('emitted', DT.FLOAT, [2]);
    const [last, seq] = g.opMulti('Loop', [g.constI64([10], []), g.constBool([true], []), v0], 2, { body: { graph: body } });
    g.op('Identity', [last], {}, 'last');
    g.op('Identity', [seq], {}, 'seq');
    g.output('last', DT.FLOAT, [2]);
    g.output('seq', DT.FLOAT, ['k', 2]);
    const s = await ort.InferenceSession.create(g.toBytes());
    const f32 = (a: number[], dims: number[]) => new ort.Tensor('float32', Float32Array.from(a), dims);
    const r = await s.run({ v0: f32([1, 0], [2]), step: f32([1, 1], [2]), limit: f32([20], []) });
    // v: (1,0) -> (3,1) -> (7,3) -> (15,7) -> (31,15): stops after the first v beyond 20.
    expect(r.seq.dims).toEqual([4, 2]);
    expect(Array.from(r.seq.data as Float32Array)).toEqual([3, 1, 7, 3, 15, 7, 31, 15]);
    expect(Array.from(r.last.data as Float32Array)).toEqual([31, 15]);
    const capped = await s.run({ v0: f32([1, 0], [2]), step: f32([1, 1], [2]), limit: f32([1e9], []) });
    expect(capped.seq.dims).toEqual([10, 2]); // the trip count ends it
  });
});

describeWithShared('tiny Grounding DINO graph', [SHARED.bertTokenizer], () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tiny-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('has the HF export signature and logits = logit(p) on listed tokens, -inf past the caption', async () => {
    const info = await buildTinyGroundingDino(join(root, 'hf'), { numQueries: 5, queries: [{ box: [0.1, 0.2, 0.3, 0.4], tokens: { scratch: 0.8 } }] });
    const s = await ort.InferenceSession.create(info.modelPath);
    expect(s.inputMetadata.map((m) => [m.name, m.isTensor && m.type])).toEqual([
      ['pixel_values', 'float32'],
      ['input_ids', 'int64'],
      ['attention_mask', 'int64'],
      ['token_type_ids', 'int64'],
      ['pixel_mask', 'int64'],
    ]);
    expect(s.outputNames).toEqual(['logits', 'pred_boxes']);
    const ids = [101, 11969, 1012, 102]; // [CLS] scratch . [SEP]
    const r = await s.run({
      pixel_values: new ort.Tensor('float32', new Float32Array(3 * 8 * 6), [1, 3, 8, 6]),
      input_ids: i64(ids, [1, 4]),
      attention_mask: i64([1, 1, 1, 0], [1, 4]),
      token_type_ids: i64([0, 0, 0, 0], [1, 4]),
      pixel_mask: i64(new Array(48).fill(1), [1, 8, 6]),
    });
    expect(r.logits.dims).toEqual([1, 5, 256]);
    expect(r.pred_boxes.dims).toEqual([1, 5, 4]);
    const L = r.logits.data as Float32Array;
    expect(L[1]).toBeCloseTo(logit(0.8), 5); // query 0, 'scratch'
    expect(L[0]).toBeCloseTo(-10, 5); // [CLS]
    expect(L[3]).toBeLessThan(-1e3); // attention_mask 0
    expect(L[4]).toBe(-Infinity); // past the caption
    expect(L[256 + 1]).toBeCloseTo(-10, 5); // query 1 lists nothing
    expect(Array.from((r.pred_boxes.data as Float32Array).subarray(0, 4))).toEqual([0.1, 0.2, 0.3, 0.4].map(Math.fround));
    // probe query: [sigmoid(mean red) = 0.5, mean(pixel_mask) = 1, H/2000, W/2000]
    expect(Array.from((r.pred_boxes.data as Float32Array).subarray(16, 20))).toEqual([0.5, 1, 8 / 2000, 6 / 2000].map(Math.fround));
  });

  it('rejects a token that is not a wordpiece', async () => {
    await expect(buildTinyGroundingDino(join(root, 'bad'), { queries: [{ box: [0, 0, 1, 1], tokens: { hazelnut: 0.5 } }] })).rejects.toThrow(/not a wordpiece/);
  });

  it('RAM stand-in: input image [b,3,384,384] -> logits [b,4585]', async () => {
    const p = await buildTinyRam(join(root, 'ram.onnx'), { tags: { 7: 0.9 } });
    const s = await ort.InferenceSession.create(p);
    expect(s.inputMetadata[0]).toMatchObject({ name: 'image', type: 'float32', shape: ['batch_size', 3, 384, 384] });
    const r = await s.run({ image: new ort.Tensor('float32', new Float32Array(3 * 384 * 384), [1, 3, 384, 384]) });
    expect(r.logits.dims).toEqual([1, 4585]);
    expect((r.logits.data as Float32Array)[7]).toBeCloseTo(logit(0.9), 5);
    expect((r.logits.data as Float32Array)[8]).toBeCloseTo(-10, 5);
  });
});
