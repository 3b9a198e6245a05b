/**
 * SAA+'s saliency (self-dissimilarity of an image's own patches) on SAM encoder embeddings of
 * real images: a patch pasted from another image is the most salient region.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRgb, type RgbImage } from '../../../src/image/io.js';
import { SamEncoderBackbone } from '../../../src/models/backbones/sam-encoder.js';
import type { FeatureGrid } from '../../../src/models/backbones/types.js';
import { defaultSamEntry } from '../../../src/models/sam/model-entry.js';
import { SamModel } from '../../../src/models/sam/model.js';
import { gridSaliency, saliencyMap, saliencyTop } from '../../../src/methods/saa-plus/saliency.js';
import { describeWithShared, SHARED } from '../../support/shared.js';

describe('grid saliency', () => {
  it('is the mean of the top-k dissimilarities 0.5 * (1 - cos), computed by hand', async () => {
    // Four patches in 2-D: three along x, one along y. k = 2 (fraction 0.5).
    const grid: FeatureGrid = { data: Float32Array.from([1, 0, 2, 0, 1, 0, 0, 3]), gridWidth: 4, gridHeight: 1, dim: 2, coverWidth: 4, coverHeight: 1 };
    expect(saliencyTop(4, 0.5)).toBe(2);
    const s = await gridSaliency(grid, 0.5);
    // Patch 0: dissimilarities to (0,1,2,3) = 0, 0, 0, 0.5 -> top 2: 0.5 and 0 -> 0.25. Patch 3: 0.5, 0.5, 0.5, 0 -> 0.5.
    expect(Array.from(s)).toEqual([0.25, 0.25, 0.25, 0.5]);
    expect(saliencyTop(4096, 400 / 4096)).toBe(400);
    expect(saliencyTop(10, 0.001)).toBe(1);
  });
});

// A normal MVTec grid (a repetitive texture, 1024 x 1024 grey): nothing on it stands out.
const PLATE = join(SHARED.datasets, 'mvtec_ad', 'grid', 'train', 'good', '000.png');
const NUT = join(SHARED.datasets, 'hazelnut_toy', 'hazelnut', 'test', 'colour', '00.jpg');

describeWithShared('saliency on real images (SAM embeddings)', [PLATE, NUT], () => {
  let sam: SamModel;
  let backbone: SamEncoderBackbone;
  let plate: RgbImage;
  let pasted: RgbImage;
  // The pasted square: 96 x 96 px at (600, 300) of the 1024 x 1024 grid.
  const X0 = 600;
  const Y0 = 300;
  const S = 96;
  const N = 1024;

  beforeAll(async () => {
    sam = await SamModel.load(defaultSamEntry());
    backbone = new SamEncoderBackbone({ kind: 'sam-encoder', name: 'sam', pool: 1 }, sam);
    plate = await loadRgb(PLATE);
    const nut = await loadRgb(NUT);
    pasted = { width: plate.width, height: plate.height, data: plate.data.slice() };
    // A piece of a hazelnut photo from its centre.
    const nx = Math.floor(nut.width / 2);
    const ny = Math.floor(nut.height / 2);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        for (let c = 0; c < 3; c++) pasted.data[((Y0 + y) * plate.width + X0 + x) * 3 + c] = nut.data[((ny + y) * nut.width + nx + x) * 3 + c];
      }
    }
  });

  afterAll(async () => {
    await sam?.dispose();
  });

  it('peaks on a pasted foreign patch and stays low on the plain plate', async () => {
    const map = await saliencyMap(await backbone.extract(pasted), pasted.width, pasted.height, 400 / 4096);
    expect(map.length).toBe(N * N);
    let best = 0;
    for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
    const bx = best % N;
    const by = Math.floor(best / N);
    // The peak lies on the pasted square (one 16 px embedding cell of tolerance at this scale).
    expect(bx).toBeGreaterThanOrEqual(X0 - 16);
    expect(bx).toBeLessThan(X0 + S + 16);
    expect(by).toBeGreaterThanOrEqual(Y0 - 16);
    expect(by).toBeLessThan(Y0 + S + 16);
    let inside = 0;
    let outside = 0;
    for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
      if (x >= X0 && x < X0 + S && y >= Y0 && y < Y0 + S) inside += map[y * N + x];
      else outside += map[y * N + x];
    }
    const meanIn = inside / (S * S);
    const meanOut = outside / (N * N - S * S);
    // Measured: 0.435 inside, 0.338 outside (the border of the square is the most salient part).
    expect(meanIn).toBeGreaterThan(1.15 * meanOut);
    // The same plate without the patch has no region as salient as the patch was.
    const clean = await saliencyMap(await backbone.extract(plate), plate.width, plate.height, 400 / 4096);
    let cleanMax = 0;
    for (const v of clean) cleanMax = Math.max(cleanMax, v);
    expect(cleanMax).toBeLessThan(map[best]);
  });
});
