import { describe, expect, it } from 'vitest';
import { concatPatchSets, nearestCosineDistance, normaliseRows, type PatchSet } from '../../../src/methods/components/patch-distance.js';
import { mulberry32 } from '../../../src/synth/rng.js';
import { BANK_INT_LIMIT, BANK_INT_MAX, int8ErrorBound, nearestCosineDistanceOrt, prepareMemory } from '../../../src/methods/components/nearest-ort.js';

const set = (rows: number[][]): PatchSet => normaliseRows({ data: Float32Array.from(rows.flat()), n: rows.length, dim: rows[0].length });

describe('nearestCosineDistance', () => {
  it('is 0 for an identical patch, 1 for an orthogonal one, 2 for the opposite', () => {
    const memory = set([[1, 0, 0]]);
    const d = nearestCosineDistance(set([[2, 0, 0], [0, 3, 0], [-1, 0, 0]]), memory);
    expect(d[0]).toBeCloseTo(0, 6);
    expect(d[1]).toBeCloseTo(1, 6);
    expect(d[2]).toBeCloseTo(2, 6);
  });

  it('takes the nearest reference patch, ignoring scale', () => {
    // cos(45 deg) = 0.7071 to the second memory row, 0 to the first.
    const d = nearestCosineDistance(set([[1, 1]]), set([[0, 0.5], [10, 0]]));
    expect(d[0]).toBeCloseTo(1 - Math.SQRT1_2, 5);
  });

  it('matches a brute-force search for every query count (blocked and tail paths)', () => {
    const rng = mulberry32(7);
    const dim = 13;
    const rand = (n: number) => normaliseRows({ data: Float32Array.from({ length: n * dim }, () => rng() - 0.5), n, dim });
    const memory = concatPatchSets([rand(300), rand(41)]);
    for (const n of [1, 4, 7, 10]) {
      const q = rand(n);
      const d = nearestCosineDistance(q, memory);
      for (let i = 0; i < n; i++) {
        let best = -Infinity;
        for (let j = 0; j < memory.n; j++) {
          let s = 0;
          for (let c = 0; c < dim; c++) s += q.data[i * dim + c] * memory.data[j * dim + c];
          best = Math.max(best, s);
        }
        expect(d[i]).toBeCloseTo(1 - best, 5);
      }
    }
  });

  it('rejects mismatched dims and an empty memory bank', () => {
    expect(() => nearestCosineDistance(set([[1, 0]]), set([[1, 0, 0]]))).toThrow(/dims/);
    expect(() => nearestCosineDistance(set([[1, 0]]), { data: new Float32Array(0), n: 0, dim: 2 })).toThrow(/empty/);
  });

  it('leaves zero rows at zero when normalising', () => {
    const s = normaliseRows({ data: Float32Array.from([0, 0, 3, 4]), n: 2, dim: 2 });
    expect(Array.from(s.data)).toEqual([0, 0, 0.6000000238418579, 0.800000011920929]);
  });
});

describe('nearestCosineDistanceOrt (matrix product on onnxruntime)', () => {
  it('agrees with the plain-JS search, in chunks too', async () => {
    const rng = mulberry32(5);
    const make = (n: number, dim: number) => normaliseRows({ data: Float32Array.from({ length: n * dim }, () => rng() - 0.5), n, dim });
    const q = make(37, 24);
    const m = make(53, 24);
    const js = nearestCosineDistance(q, m);
    for (const block of [undefined, 53 * 5]) {
      // The second pass runs the query in chunks of 5 rows.
      const ort = await nearestCosineDistanceOrt(q, prepareMemory(m), block);
      expect(ort).toHaveLength(js.length);
      for (let i = 0; i < js.length; i++) expect(ort[i]).toBeCloseTo(js[i], 5);
    }
    // A query identical to a memory row is at distance 0.
    const self = await nearestCosineDistanceOrt({ data: m.data.slice(0, 24), n: 1, dim: 24 }, m);
    expect(self[0]).toBeCloseTo(0, 5);
    await expect(nearestCosineDistanceOrt(make(2, 8), m)).rejects.toThrow(/dims differ/);
  });

  it('an int8 bank gives the float32 distances to within the rounding of its steps, blocked too', async () => {
    const rng = mulberry32(11);
    const make = (n: number, dim: number) => normaliseRows({ data: Float32Array.from({ length: n * dim }, () => rng() - 0.5), n, dim });
    const q = make(300, 128);
    const m = make(400, 128);
    const js = nearestCosineDistance(q, m);
    const int8 = prepareMemory(m, { int8: true });
    expect(int8.tensor.type).toBe('int8');
    expect(int8.step).toBeGreaterThan(0);
    // The bound is the rounding of both sides alone: it holds only where no kernel clips a sum.
    const bound = int8ErrorBound(q, m, int8.step!);
    expect(bound).toBeLessThan(0.03);
    for (const block of [undefined, 400 * 7]) {
      const d = await nearestCosineDistanceOrt(q, int8, block);
      let maxErr = 0;
      for (let i = 0; i < js.length; i++) maxErr = Math.max(maxErr, Math.abs(d[i] - js[i]));
      expect(maxErr).toBeLessThanOrEqual(bound + 1e-6);
      expect(maxErr).toBeLessThan(5e-3); // typical rounding is far below the worst case
      expect(maxErr).toBeGreaterThan(0); // it did round: this is the integer path
    }
    // A query equal to a bank row stays nearest to it: near 0, far below the typical distance.
    const self = await nearestCosineDistanceOrt({ data: m.data.slice(128 * 17, 128 * 18), n: 1, dim: 128 }, int8);
    expect(self[0]).toBeLessThan(5e-3);
    expect(Math.min(...js)).toBeGreaterThan(0.5);
  });
});

/** onnxruntime's DynamicQuantizeLinear: uint8 with a zero point, over the range of the values and 0. */
function quantiseQueries(x: Float32Array): { u8: Uint8Array; zero: number } {
  let lo = 0;
  let hi = 0;
  for (const v of x) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  const step = (hi - lo) / 255;
  const zero = Math.max(0, Math.min(255, Math.round(-lo / step)));
  return { u8: Uint8Array.from(x, (v) => Math.max(0, Math.min(255, Math.round(v / step) + zero))), zero };
}

/**
 * Sum over k of a[k] * b[k] (raw u8 x s8, zero point not yet taken off) as the AVX2 / AVX-512BW
 * kernels form it: vpmaddubsw adds adjacent products in pairs into int16 with saturation, then
 * vpmaddwd widens the pairs to int32. `saturated` counts the pairs that were clipped.
 */
function pairSumInt16(a: Uint8Array, b: Int8Array): { sum: number; saturated: number } {
  let sum = 0;
  let saturated = 0;
  for (let k = 0; k < a.length; k += 2) {
    const pair = a[k] * b[k] + (k + 1 < a.length ? a[k + 1] * b[k + 1] : 0);
    const clipped = Math.max(-32768, Math.min(32767, pair));
    if (clipped !== pair) saturated++;
    sum += clipped;
  }
  return { sum, saturated };
}

describe('the int8 search on CPUs whose integer products saturate (emulated)', () => {
  const rng = mulberry32(11);
  const make = (n: number, dim: number) => normaliseRows({ data: Float32Array.from({ length: n * dim }, () => rng() - 0.5), n, dim });
  const q = make(60, 128);
  const m = make(80, 128);
  const { u8, zero } = quantiseQueries(q.data);
  /** Bank rows quantised symmetric to +-levels, row-major. */
  const bankInts = (levels: number) => {
    let max = 0;
    for (const v of m.data) max = Math.max(max, Math.abs(v));
    return Int8Array.from(m.data, (v) => Math.max(-levels, Math.min(levels, Math.round(v / (max / levels)))));
  };
  /** Largest |emulated - exact| integer product over every (query, bank row), and the clipped pairs. */
  const compare = (bank: Int8Array) => {
    let worst = 0;
    let saturated = 0;
    for (let i = 0; i < q.n; i++) {
      const a = u8.subarray(i * 128, (i + 1) * 128);
      for (let j = 0; j < m.n; j++) {
        const b = bank.subarray(j * 128, (j + 1) * 128);
        let exact = 0;
        for (let k = 0; k < 128; k++) exact += a[k] * b[k];
        const e = pairSumInt16(a, b);
        worst = Math.max(worst, Math.abs(e.sum - exact));
        saturated += e.saturated;
      }
    }
    return { worst, saturated };
  };

  it('a full 8-bit bank (-127..127) is clipped by the pair sums: wrong products', () => {
    expect(zero).toBeGreaterThan(64); // the raw queries sit around their zero point, far from 0
    const r = compare(bankInts(127));
    expect(r.saturated).toBeGreaterThan(0);
    expect(r.worst).toBeGreaterThan(1000);
  });

  it('the bank prepareMemory makes is never clipped, whatever the queries: exact products', () => {
    // Worst case over every possible u8 query and every bank value the bank can hold.
    expect(2 * 255 * BANK_INT_LIMIT).toBeLessThanOrEqual(32767);
    expect(BANK_INT_MAX).toBeLessThanOrEqual(BANK_INT_LIMIT);
    const prepared = prepareMemory(m, { int8: true });
    const t = prepared.tensor.data as Int8Array;
    expect(Math.max(...Array.from(t, Math.abs))).toBe(BANK_INT_MAX);
    const rowMajor = new Int8Array(m.n * 128);
    for (let j = 0; j < m.n; j++) for (let c = 0; c < 128; c++) rowMajor[j * 128 + c] = t[c * m.n + j];
    expect(compare(rowMajor)).toEqual({ worst: 0, saturated: 0 });
  });
});
