import { numpy as np } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { sptSchema } from '../../../src/config/schema.js';
import { frozenArrays } from '../../../src/tuning/decoder-params.js';
import { toFrozen } from '../../../src/tuning/decoder-forward.js';
import type { LoraConfig } from '../../../src/tuning/lora.js';
import { ADAM_DEFAULTS, initialState } from '../../../src/tuning/train-step.js';
import { initSptParams, passScales } from '../../../src/tuning/spt/params.js';
import { applyRelation, poolMatrix, relationOf } from '../../../src/tuning/spt/relation.js';
import { sptEvalLoss, sptTrainStep, type SptStepConfig } from '../../../src/tuning/spt/train-step.js';
import { realWeights, syntheticSample } from '../synthetic.js';
import { rng } from '../support.js';

const lora: LoraConfig = { rank: 4, alpha: 4, targets: ['q', 'v'] };
const config = (spt: object = {}): SptStepConfig => ({ lora, adam: { ...ADAM_DEFAULTS, lr: 3e-3 }, losses: { bce: 1, dice: 1, iou: 1 }, spt: sptSchema.parse(spt) });

/** The relation by its definition, in plain loops: cosine of each token with each cell's mean unit token, softmax over cells. */
function relationByHand(tokens: Float32Array, n: number, c: number, pool: number[][] | null): Float64Array {
  const unit = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += tokens[i * c + k] ** 2;
    for (let k = 0; k < c; k++) unit[i * c + k] = tokens[i * c + k] / (Math.sqrt(s) + 1e-6);
  }
  const cells = pool ? pool.map((row) => Array.from({ length: c }, (_, k) => row.reduce((s, w, j) => s + w * unit[j * c + k], 0))) : null;
  const m = cells ? cells.length : n;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const l = Array.from({ length: m }, (_, j) => {
      if (!cells && j === i) return -Infinity;
      let s = 0;
      for (let k = 0; k < c; k++) s += unit[i * c + k] * (cells ? cells[j][k] : unit[j * c + k]);
      return s;
    });
    const mx = Math.max(...l);
    const e = l.map((v) => Math.exp(v - mx));
    const z = e.reduce((a, b) => a + b);
    e.forEach((v, j) => (out[i * m + j] = v / z));
  }
  return out;
}

const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('the relation adapter', () => {
  it('pool f averages the f x f cells of the 64x64 grid', () => {
    const p = poolMatrix(4);
    expect(p.length).toBe(256 * 4096);
    // Token (y 5, x 9) is in cell (1, 2) = 1*16 + 2.
    expect(p[18 * 4096 + 5 * 64 + 9]).toBeCloseTo(1 / 16);
    expect(p[17 * 4096 + 5 * 64 + 9]).toBe(0);
    for (const c of [0, 100, 255]) expect(p.subarray(c * 4096, (c + 1) * 4096).reduce((a, b) => a + b)).toBeCloseTo(1, 5);
  });

  it('the full and pooled relations follow their definitions, and a zero scale leaves the keys as they are', () => {
    const r = rng(3);
    const tokens = Float32Array.from({ length: 4096 * 256 }, () => r());
    // The full form on a few rows is checked against its definition through the pooled form's maths with pool 1.
    const pooled = relationOf(np.array(tokens).reshape([4096, 256]), 16);
    const got = pooled.weights.ref.dataSync() as Float32Array;
    const p16 = poolMatrix(16);
    const rows = Array.from({ length: 16 }, (_, c) => Array.from(p16.subarray(c * 4096, (c + 1) * 4096)));
    const want = relationByHand(tokens, 4096, 256, rows);
    let diff = 0;
    for (let i = 0; i < want.length; i += 97) diff = Math.max(diff, Math.abs(got[i] - want[i]));
    expect(diff).toBeLessThan(1e-5);

    const keys = np.array(Float32Array.from({ length: 4096 * 256 }, () => r())).reshape([4096, 256]);
    const same = applyRelation(keys.ref, pooled, np.zeros([256]));
    expect(maxAbs(same.sub(keys.ref).dataSync() as Float32Array)).toBe(0);

    // The full form: the diagonal gets no weight and rows sum to 1.
    const small = Float32Array.from({ length: 4096 * 256 }, () => r());
    const full = relationOf(np.array(small).reshape([4096, 256]), 1);
    const w = full.weights.dataSync() as Float32Array;
    const ref = relationByHand(small.subarray(0, 8 * 256), 8, 256, null); // definition on 8 tokens
    expect(ref[0]).toBe(0);
    for (const i of [0, 7, 4095]) expect(w[i * 4096 + i]).toBe(0);
    let rowSum = 0;
    for (let j = 0; j < 4096; j++) rowSum += w[7 * 4096 + j];
    expect(rowSum).toBeCloseTo(1, 4);
    keys.dispose();
  }, 120_000);
});

describe('an SPT training step (draft + refining decoder, relation adapter)', () => {
  const fa = frozenArrays(realWeights());
  const frozen = toFrozen(fa);
  const samples = [syntheticSample(1, 120, 100, 30), syntheticSample(2, 80, 160, 20)];

  it('a few steps on a tiny synthetic set lower its loss, and train the adapter scales', () => {
    const c = config();
    const state = initialState(initSptParams(fa, lora, 0, true));
    const mean = () => samples.reduce((s, x) => s + sptEvalLoss(frozen, state.lora, c, x), 0) / samples.length;
    const before = mean();
    for (let i = 0; i < 3; i++) sptTrainStep(frozen, state, samples[i % 2], c);
    expect(state.step).toBe(3);
    expect(mean()).toBeLessThan(before * 0.9);
    for (const pass of ['draft', 'refine'] as const) {
      const scales = passScales(state.lora, pass);
      expect(scales).toHaveLength(2);
      expect(Math.max(...scales.map(maxAbs))).toBeGreaterThan(0);
    }
  }, 600_000);

  it('is deterministic for a seed, and the seed matters', () => {
    const run = (seed: number) => {
      const state = initialState(initSptParams(fa, lora, seed, true));
      const losses = [sptTrainStep(frozen, state, samples[0], config())];
      return { losses, values: Object.keys(state.lora).sort().flatMap((k) => Array.from(state.lora[k].down).concat(Array.from(state.lora[k].up))) };
    };
    const a = run(5);
    const b = run(5);
    const other = run(6);
    expect(b.losses).toEqual(a.losses);
    expect(b.values).toEqual(a.values);
    expect(other.values).not.toEqual(a.values);
  }, 600_000);
});
