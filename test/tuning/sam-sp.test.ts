/**
 * SAM-SP tuning: the self-prompt's box, a few steps lowering the loss on a tiny synthetic set,
 * determinism, and that onnxruntime on the exported decoder, prompted as SAM-SP prompts itself,
 * reproduces each training pass.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { frozenArrays } from '../../src/tuning/decoder-params.js';
import { toFrozen } from '../../src/tuning/decoder-forward.js';
import { writeTunedDecoder } from '../../src/tuning/export.js';
import { flattenLora, initLora, type LoraConfig } from '../../src/tuning/lora.js';
import { fromPhaseOrder, toPhaseOrder } from '../../src/tuning/prompt-embedding.js';
import { boxEncoder, boxOfLowRes, samSpForward, samSpLoss, samSpStep, type SamSpSettings } from '../../src/tuning/sam-sp.js';
import { ADAM_DEFAULTS, initialState, type StepConfig } from '../../src/tuning/train-step.js';
import { fakeEmbedding, maxAbsDiff, ortDecode, rng, samBytes } from './support.js';
import { realWeights, syntheticSample } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'iapas-tune-samsp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lora: LoraConfig = { rank: 4, alpha: 4, targets: ['q', 'v'] };
const config: StepConfig = { lora, adam: { ...ADAM_DEFAULTS, lr: 3e-3 }, losses: { bce: 1, dice: 1, iou: 1 } };
const sp: SamSpSettings = { passes: 2, distill: 1, firstPass: 'prompt' };

describe('the self-prompt', () => {
  it('is the tight box of the positive low-res pixels in the 1024 model frame, null when none is', () => {
    const plane = new Float32Array(256 * 256).fill(-3);
    for (let y = 10; y <= 20; y++) for (let x = 30; x <= 35; x++) plane[y * 256 + x] = 2;
    expect(boxOfLowRes(toPhaseOrder(plane))).toEqual([120, 40, 144, 84]);
    expect(boxOfLowRes(toPhaseOrder(new Float32Array(256 * 256).fill(-1)))).toBeNull();
    const encode = boxEncoder(realWeights());
    expect(encode(null).numPoints).toBe(1);
    expect(encode([0, 0, 10, 10]).numPoints).toBe(2);
  });
});

describe('a SAM-SP training step', () => {
  const fa = frozenArrays(realWeights());
  const frozen = toFrozen(fa);
  const encode = boxEncoder(realWeights());
  const samples = [syntheticSample(1, 120, 100, 30), syntheticSample(2, 80, 160, 20)];

  it('a few steps on a tiny synthetic set lower its loss, and are deterministic for a seed', () => {
    const run = () => {
      const state = initialState(initLora(fa, lora, 0));
      const losses = [0, 1, 2, 3].map((i) => samSpStep(frozen, state, samples[i % 2], config, sp, encode));
      return { state, losses };
    };
    const before = samples.reduce((s, x) => s + samSpLoss(frozen, initLora(fa, lora, 0), config, x, sp, encode), 0);
    const a = run();
    expect(a.state.step).toBe(4);
    const after = samples.reduce((s, x) => s + samSpLoss(frozen, a.state.lora, config, x, sp, encode), 0);
    expect(after).toBeLessThan(before * 0.9);
    const b = run();
    expect(b.losses).toEqual(a.losses);
    expect(flattenLora(b.state.lora)).toEqual(flattenLora(a.state.lora));
  }, 900_000);

  it('the distillation term counts: with it off the same steps end elsewhere', () => {
    const state = (distill: number) => {
      const s = initialState(initLora(fa, lora, 0));
      for (const i of [0, 1]) samSpStep(frozen, s, samples[i], config, { ...sp, distill }, encode);
      return flattenLora(s.lora);
    };
    expect(state(0)).not.toEqual(state(1));
  }, 900_000);

  it('onnxruntime on the exported decoder, prompted with each previous pass\'s box and logits, equals every training pass', async () => {
    const weights = realWeights();
    const l = initLora(fa, lora, 3);
    const r = rng(9);
    for (const p of Object.values(l)) for (let i = 0; i < p.up.length; i++) p.up[i] = r() * 0.2;
    const path = await writeTunedDecoder(join(dir, 'out'), samBytes(), weights, l, lora, {
      method: 'sam-sp', seed: 3, steps: 0, config: {}, data: [{ name: 'synthetic', sha256: 'x', images: 0 }], losses: [1],
    });
    const tuned = new Uint8Array(readFileSync(path));
    const sample = syntheticSample(4, 120, 100, 30);
    const passes = samSpForward(frozen, l, config, sample, { ...sp, passes: 3 }, encode);
    expect(passes).toHaveLength(3);

    const embedding = fakeEmbedding(4); // the embedding syntheticSample(4, ...) uses
    const box0 = [(120 - 30) * 4, (100 - 30) * 4, (120 + 30) * 4, (100 + 30) * 4];
    let onnx = await ortDecode(tuned, embedding, { coords: Float32Array.from(box0), labels: Float32Array.of(2, 3) });
    expect(maxAbsDiff(onnx.lowRes, fromPhaseOrder(passes[0]))).toBeLessThanOrEqual(1e-3);
    for (let i = 1; i < passes.length; i++) {
      const box = boxOfLowRes(passes[i - 1]);
      expect(box).not.toBeNull();
      onnx = await ortDecode(tuned, embedding, { coords: Float32Array.from(box!), labels: Float32Array.of(2, 3), mask: onnx.lowRes });
      expect(maxAbsDiff(onnx.lowRes, fromPhaseOrder(passes[i]))).toBeLessThanOrEqual(1e-3);
    }
    expect(maxAbsDiff(fromPhaseOrder(passes[1]), fromPhaseOrder(passes[0]))).toBeGreaterThan(0.1); // the second pass is its own
  }, 300_000);
});
