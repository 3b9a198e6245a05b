/**
 * minisam-ms on a real image of the shared samples (MVTec AD grid, train normals): the four
 * encoder scales come from the same encoder pass as SAM's embedding (which is unchanged by the
 * exposed outputs), they are cached by content, and a pasted defect ranks above every normal
 * part of the image in the few-shot map.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadRgb } from '../../../src/image/io.js';
import type { RgbImage } from '../../../src/image/types.js';
import { loadBackbone, MINISAM_MS } from '../../../src/models/backbones/index.js';
import { scaleGrid } from '../../../src/models/backbones/sam-inner.js';
import { resizedShape } from '../../../src/models/sam/transforms.js';
import type { Backbone } from '../../../src/models/backbones/types.js';
import { SamModel } from '../../../src/models/sam/model.js';
import { prepareMemoryBank, scoreQuery } from '../../../src/methods/fewshot/memory-bank.js';
import { DiskCache } from '../../../src/util/disk-cache.js';
import { scaleGridReference } from '../../support/scale-grid-reference.js';
import { describeWithShared, SHARED } from '../../support/shared.js';

const GOOD = join(SHARED.datasets, 'mvtec_ad', 'grid', 'train', 'good');

describeWithShared('minisam-ms: four scales from one encoder pass (real image)', [GOOD], () => {
  let sam: SamModel;
  let backbone: Backbone;
  let cacheDir: string;
  let cache: DiskCache;
  let images: RgbImage[];
  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'iapas-msfeat-'));
    sam = await SamModel.load(undefined, { threads: 2 });
    cache = new DiskCache(cacheDir);
    backbone = await loadBackbone('minisam-ms', { sam, cache });
    images = await Promise.all(['000.png', '001.png', '002.png'].map((f) => loadRgb(join(GOOD, f))));
  }, 60_000);
  afterAll(async () => {
    await sam?.dispose();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('gives every scale and the SAM embedding in one pass, the embedding as the plain encoder gives it, and caches the grids', async () => {
    const img = images[0];
    const runs = sam.stats.encoderRuns;
    const grids = await backbone.extractScales(img);
    expect(sam.stats.encoderRuns).toBe(runs + 1);
    expect(backbone.scaleNames).toEqual(['l0', 'l1', 'l2m', 'l3']);
    // A square image fills the 1024 frame: l0 pooled 4 -> 64, l1 stride 8 -> 128, l2m/l3 stride 16 -> 64.
    expect(grids.map((g) => [g.gridWidth, g.gridHeight, g.dim])).toEqual([
      [64, 64, 64],
      [128, 128, 128],
      [64, 64, 160],
      [64, 64, 320],
    ]);
    for (const g of grids) expect([g.coverWidth, g.coverHeight]).toEqual([img.width, img.height]);
    // The refinement's encode() finds the embedding of that pass.
    const emb = await sam.encode(img);
    expect(sam.stats.encoderRuns).toBe(runs + 1);
    const plain = await SamModel.load(undefined, { threads: 2 });
    try {
      const ref = await plain.encode(img);
      let maxDiff = 0;
      for (let i = 0; i < ref.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref.data[i] - emb.data[i]));
      expect(maxDiff).toBeLessThan(1e-3);
    } finally {
      await plain.dispose();
    }
    // A second backbone on the same cache directory (once the first one's writes are on disk): no encoder pass, same grids.
    await cache.flush();
    const again = await loadBackbone('minisam-ms', { sam, cache: new DiskCache(cacheDir) });
    const cached = await again.extractScales(img);
    expect(sam.stats.encoderRuns).toBe(runs + 1);
    cached.forEach((g, i) => expect(g).toEqual(grids[i]));
  }, 120_000);

  it('computes every scale on onnxruntime as the plain-JS reference does, on the real tensors of a non-square image', async () => {
    // The top 600 rows: resized 1024 x 600, so every scale is cropped (l0: 150 rows of stride 4,
    // pooled by 4 into 37 full cells and one of two rows).
    const img = { width: images[1].width, height: 600, data: images[1].data.subarray(0, images[1].width * 600 * 3) };
    const resized = resizedShape(img.width, img.height, sam.imageSize);
    const { inner } = await sam.encodeWithInner(img, [...new Set(MINISAM_MS.scales.map((s) => s.tensor))]);
    for (const s of MINISAM_MS.scales) {
      const got = await scaleGrid(inner[s.tensor], s, img, resized);
      const ref = scaleGridReference(inner[s.tensor], s, img, resized);
      expect({ ...got, data: null }).toEqual({ ...ref, data: null });
      let maxDiff = 0;
      for (let i = 0; i < ref.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - ref.data[i]));
      expect(maxDiff, s.name).toBeLessThan(1e-5);
    }
  }, 120_000);

  it('ranks a pasted defect above every normal part of the image', async () => {
    const bank = await prepareMemoryBank(backbone, images.slice(0, 2), { map: { workSize: 256, smoothSigma: 4 / 256 } });
    const q = images[2];
    const data = q.data.slice();
    // A 96 px square with its colours inverted (a stain-like defect on the grid texture).
    const [x0, y0, s] = [600, 300, 96];
    for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) for (let c = 0; c < 3; c++) data[(y * q.width + x) * 3 + c] = 255 - data[(y * q.width + x) * 3 + c];
    const map = await scoreQuery(backbone, bank, { width: q.width, height: q.height, data });
    let inside = 0;
    let n = 0;
    let outside = -Infinity;
    const margin = 64; // the map is smoothed: pixels this close to the square are neither
    for (let y = 0; y < q.height; y++)
      for (let x = 0; x < q.width; x++) {
        const v = map[y * q.width + x];
        if (x >= x0 + 16 && x < x0 + s - 16 && y >= y0 + 16 && y < y0 + s - 16) {
          inside += v;
          n++;
        } else if (x < x0 - margin || x >= x0 + s + margin || y < y0 - margin || y >= y0 + s + margin) outside = Math.max(outside, v);
      }
    expect(inside / n).toBeGreaterThan(outside);
  }, 120_000);
});
