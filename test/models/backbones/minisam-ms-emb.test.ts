/**
 * minisam-ms-emb on a real image of the shared samples: the fifth scale is SAM's embedding from
 * the same encoder pass as the four inner scales, and it is the `sam` backbone's grid (pooled by
 * 2, L2 per cell) on the same image, so the ensemble adds exactly the former backbone's features.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadRgb } from '../../../src/image/io.js';
import { loadBackbone } from '../../../src/models/backbones/index.js';
import { SamModel } from '../../../src/models/sam/model.js';
import { describeWithShared, SHARED } from '../../support/shared.js';

const IMAGE = join(SHARED.datasets, 'mvtec_ad', 'grid', 'train', 'good', '000.png');

describeWithShared('minisam-ms-emb: the four scales and the SAM embedding from one pass (real image)', [IMAGE], () => {
  let sam: SamModel;
  beforeAll(async () => {
    sam = await SamModel.load(undefined, { threads: 2 });
  }, 60_000);
  afterAll(async () => {
    await sam?.dispose();
  });

  it("gives the `sam` backbone's grid as its 'emb' scale, with one encoder pass for all five", async () => {
    const full = await loadRgb(IMAGE);
    // The top 700 rows: a non-square image, so the embedding is cropped to the cells over the image.
    const img = { width: full.width, height: 700, data: full.data.subarray(0, full.width * 700 * 3) };
    const five = await loadBackbone('minisam-ms-emb', { sam });
    expect(five.scaleNames).toEqual(['l0', 'l1', 'l2m', 'l3', 'emb']);
    const runs = sam.stats.encoderRuns;
    const grids = await five.extractScales(img);
    expect(sam.stats.encoderRuns).toBe(runs + 1);
    const emb = grids[4];
    const ref = await (await loadBackbone('sam', { sam })).extract(img);
    expect(sam.stats.encoderRuns).toBe(runs + 1);
    expect([emb.gridWidth, emb.gridHeight, emb.dim]).toEqual([ref.gridWidth, ref.gridHeight, ref.dim]);
    expect([emb.coverWidth, emb.coverHeight]).toEqual([ref.coverWidth, ref.coverHeight]);
    let maxDiff = 0;
    for (let p = 0; p < ref.gridWidth * ref.gridHeight; p++) {
      let s = 0;
      for (let c = 0; c < ref.dim; c++) s += ref.data[p * ref.dim + c] ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let c = 0; c < ref.dim; c++) maxDiff = Math.max(maxDiff, Math.abs(ref.data[p * ref.dim + c] * inv - emb.data[p * emb.dim + c]));
    }
    expect(maxDiff).toBeLessThan(1e-3);
    // The four inner scales are minisam-ms's own.
    const four = await (await loadBackbone('minisam-ms', { sam })).extractScales(img);
    four.forEach((g, i) => expect(g).toEqual(grids[i]));
  }, 180_000);
});
