import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numpy as np } from '@jax-js/jax';
import { afterAll, describe, expect, it } from 'vitest';
import { readDecoderWeights } from '../../src/models/sam/decoder-weights.js';
import { frozenArrays } from '../../src/tuning/decoder-params.js';
import { chosenLogits, decoderForward, toFrozen } from '../../src/tuning/decoder-forward.js';
import { initLora, loraScale, toJaxLora, type LoraConfig } from '../../src/tuning/lora.js';
import { PROVENANCE_FILE, writeTunedDecoder, type TuningProvenance } from '../../src/tuning/export.js';
import { embeddingTokens, fromPhaseOrder, sparseEmbedding } from '../../src/tuning/prompt-embedding.js';
import { fakeEmbedding, maxAbsDiff, ortDecode, rng, samBytes } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'iapas-tune-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exporting a tuned decoder', () => {
  it('onnxruntime on the exported sam.onnx equals the training forward with the LoRA, and a provenance file sits beside it', async () => {
    const base = samBytes();
    const weights = readDecoderWeights(base);
    const fa = frozenArrays(weights);
    const config: LoraConfig = { rank: 4, alpha: 8, targets: ['q', 'v', 'mlp'] };
    const lora = initLora(fa, config, 3);
    // A trained-looking state: up is zero at init, so give it values to make the delta real.
    const r = rng(9);
    for (const p of Object.values(lora)) for (let i = 0; i < p.up.length; i++) p.up[i] = r() * 0.2;

    const path = await writeTunedDecoder(join(dir, 'out'), base, weights, lora, config, {
      method: 'test', seed: 3, steps: 0, config: {}, data: [{ name: 'synthetic', sha256: 'x', images: 0 }], losses: [1],
    });
    const tuned = new Uint8Array(readFileSync(path));

    const embedding = fakeEmbedding(4);
    const p = { coords: new Float32Array([300, 250, 700, 640]), labels: new Float32Array([2, 3]) };
    const onnx = await ortDecode(tuned, embedding, p);
    const frozenRef = await ortDecode(base, embedding, p);
    const out = decoderForward(toFrozen(fa), toJaxLora(lora, config.rank), loraScale(config), {
      tokens: np.array(embeddingTokens(embedding)).reshape([4096, 256]),
      sparse: np.array(sparseEmbedding(weights, p.coords, p.labels)).reshape([2, 256]),
      mask: null,
      numPoints: 2,
    });
    out.iou.dispose();
    const trained = fromPhaseOrder(chosenLogits(out).dataSync() as Float32Array);

    expect(maxAbsDiff(onnx.lowRes, frozenRef.lowRes)).toBeGreaterThan(0.1); // the delta is real
    expect(maxAbsDiff(onnx.lowRes, trained)).toBeLessThanOrEqual(1e-3);

    const prov = JSON.parse(readFileSync(join(dir, 'out', PROVENANCE_FILE), 'utf8')) as TuningProvenance;
    expect(prov.lora).toEqual(config);
    expect(prov.seed).toBe(3);
    expect(prov.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(prov.sha256).not.toBe(prov.base_sha256);
    expect(prov.code.version).toBeTruthy();
  }, 120_000);
});
