/**
 * Nearest-patch search: plain JS (patch-distance.ts) against onnxruntime's matrix product
 * (nearest-ort.ts) on random unit vectors of the sizes the few-shot backbones produce.
 * Prints ms per query and the ratio; asserts nothing.
 *
 *   npx tsx eval/bench-fewshot-nn.ts
 */
import { nearestCosineDistance, normaliseRows, type PatchSet } from '../src/methods/components/patch-distance.js';
import { nearestCosineDistanceOrt, prepareMemory } from '../src/methods/components/nearest-ort.js';
import { mulberry32 } from '../src/util/random.js';

function randomSet(n: number, dim: number, seed: number): PatchSet {
  const rng = mulberry32(seed);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < data.length; i++) data[i] = rng() - 0.5;
  return normaliseRows({ data, n, dim });
}

const cases = [
  { name: 'MobileNetV2 @320 (40x40 grid, k=4)', n: 1600, dim: 128, m: 6400 },
  { name: 'SAM embeddings pooled (32x32, k=4)', n: 1024, dim: 256, m: 4096 },
];
for (const c of cases) {
  const q = randomSet(c.n, c.dim, 1);
  const mem = randomSet(c.m, c.dim, 2);
  const prepared = prepareMemory(mem);
  await nearestCosineDistanceOrt(q, prepared); // session creation and warm-up
  let t = performance.now();
  const js = nearestCosineDistance(q, mem);
  const jsMs = performance.now() - t;
  t = performance.now();
  const reps = 5;
  let ortOut: Float32Array = new Float32Array(0);
  for (let r = 0; r < reps; r++) ortOut = await nearestCosineDistanceOrt(q, prepared);
  const ortMs = (performance.now() - t) / reps;
  let maxDiff = 0;
  for (let i = 0; i < js.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js[i] - ortOut[i]));
  console.log(`${c.name}: ${c.n} x ${c.m} x ${c.dim}: js ${jsMs.toFixed(0)} ms, onnxruntime ${ortMs.toFixed(1)} ms (${(jsMs / ortMs).toFixed(1)}x), max |diff| ${maxDiff.toExponential(1)}`);
}
