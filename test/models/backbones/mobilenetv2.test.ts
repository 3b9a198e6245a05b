/** The ONNX graph surgery and the CNN backbone on the real MobileNetV2 file (3.6 MB, fast). */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBackbone, MOBILENETV2, resolveBackboneFile } from '../../../src/models/backbones/index.js';
import { exposeTensors, listTensorNames } from '../../../src/models/onnx/expose.js';
import { MissingModelError } from '../../../src/util/errors.js';
import { describeWithShared, SHARED, sharedModelsDir } from '../../support/shared.js';

describe('backbone files', () => {
  it('names the missing file and how to get it', async () => {
    const err = await resolveBackboneFile(MOBILENETV2, '/nonexistent-models').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect((err as Error).message).toMatch(/mobilenetv2-12-int8\.onnx.*iapas models pull mobilenetv2-12-int8/s);
  });
});

describeWithShared('MobileNetV2 intermediate features', [SHARED.mobilenetv2], () => {
  let modelsDir: string;
  beforeAll(async () => {
    modelsDir = await sharedModelsDir();
  });

  it('exposes quantised inner tensors as float32 outputs at any input size', async () => {
    const bytes = new Uint8Array(await readFile(await resolveBackboneFile(MOBILENETV2, modelsDir)));
    expect(listTensorNames(bytes)).toContain('365_quantized');
    const { bytes: modified, outputs } = exposeTensors(bytes, MOBILENETV2.layers, { freeSpatialInput: true });
    expect(outputs.every((o) => o.dequantized)).toBe(true);
    const session = await ort.InferenceSession.create(modified, { intraOpNumThreads: 1 });
    const out = await session.run({ input: new ort.Tensor('float32', new Float32Array(3 * 128 * 96).fill(0.1), [1, 3, 128, 96]) });
    expect(out[outputs[0].output].type).toBe('float32');
    expect(out[outputs[0].output].dims).toEqual([1, 32, 16, 12]); // stride 8
    expect(out[outputs[1].output].dims).toEqual([1, 96, 8, 6]); // stride 16
    expect(out.output.dims).toEqual([1, 1000]); // the classifier still runs
    await session.release();
    expect(() => exposeTensors(bytes, ['no_such_tensor'])).toThrow(/no tensor 'no_such_tensor'/);
  });

  it('extracts a stride-8 grid of per-layer normalised features covering the whole image', async () => {
    const backbone = await loadBackbone('mobilenetv2', { threads: 1, modelsDir });
    const W = 100;
    const H = 60;
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) data.set([(i * 7) % 255, (i * 13) % 255, 90], 3 * i);
    const grid = await backbone.extract({ width: W, height: H, data });
    expect([grid.gridWidth, grid.gridHeight, grid.dim]).toEqual([MOBILENETV2.inputSize / 8, MOBILENETV2.inputSize / 8, 32 + 96]);
    expect([grid.coverWidth, grid.coverHeight]).toEqual([W, H]);
    // each layer is unit length per patch, so a patch of two layers has squared norm 2
    let s = 0;
    for (let c = 0; c < grid.dim; c++) s += grid.data[c] ** 2;
    expect(s).toBeCloseTo(2, 3);
    expect(await backbone.id()).toMatch(/^[0-9a-f]{64}$/);
    await backbone.dispose?.();
  });
});
