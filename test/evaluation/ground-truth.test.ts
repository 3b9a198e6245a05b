/**
 * Masks prepared once for the evaluation grid (what a sweep reuses in every run) give the same
 * metrics as masks resized by each evaluation, and the store reads a mask file again only when it
 * changed.
 */
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroundTruthStore } from '../../src/evaluation/ground-truth.js';
import { CategoryEvaluator, prepareMask, resolveProtocol } from '../../src/evaluation/protocol.js';
import { savePng } from '../../src/image/io.js';
import { Lcg } from '../metrics/golden-data.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-gt-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function blobs(w: number, h: number, seed: number): Uint8Array {
  const g = new Lcg(seed);
  const m = new Uint8Array(w * h);
  for (let k = 0; k < 3; k++) {
    const x0 = Math.floor(g.next() * (w - 10));
    const y0 = Math.floor(g.next() * (h - 10));
    for (let y = y0; y < y0 + 4 + k * 3; y++) for (let x = x0; x < x0 + 5 + k; x++) m[y * w + x] = 1;
  }
  return m;
}

describe('prepared ground truth', () => {
  it('pools exactly like a raw mask: same metrics (AUROC, AP, F1, both AUPROs)', () => {
    const w = 57;
    const h = 41;
    const g = new Lcg(11);
    const masks = [blobs(w, h, 1), null, blobs(w, h, 2), blobs(w, h, 3)];
    const maps = masks.map((m) => Float32Array.from(m ?? new Uint8Array(w * h), (v) => g.next() + 1.5 * v * g.next()));
    for (const aupro of ['grid', 'exact'] as const) {
      const opts = resolveProtocol({ resolution: 32, aupro });
      const raw = new CategoryEvaluator('c', masks.length, opts);
      const prep = new CategoryEvaluator('c', masks.length, opts);
      masks.forEach((m, i) => {
        const map = { data: maps[i], width: w, height: h };
        raw.add(`i${i}`, m !== null, map, m && { data: m, width: w, height: h });
        prep.add(`i${i}`, m !== null, map, m && prepareMask({ data: m, width: w, height: h }, 32));
      });
      const a = raw.finish();
      const b = prep.finish();
      expect(b).toEqual(a);
      expect(a.n_regions).toBeGreaterThan(3);
      expect(a.aupro).not.toBeNull();
    }
  });

  it('refuses a mask prepared for another resolution', () => {
    const m = blobs(20, 20, 4);
    const ev = new CategoryEvaluator('c', 1, resolveProtocol({ resolution: 16 }));
    expect(() => ev.add('x', true, { data: new Float32Array(400), width: 20, height: 20 }, prepareMask({ data: m, width: 20, height: 20 }, 24))).toThrow(/24x24/);
  });

  it('reads a mask file once per resolution and again after it changed', async () => {
    const path = join(root, 'm.png');
    const w = 30;
    const h = 20;
    await savePng(path, { width: w, height: h, data: blobs(w, h, 5) }, { mask: true });
    const store = new GroundTruthStore();
    const a = await store.mask(path, 16);
    const b = await store.mask(path, 16);
    expect(b).toBe(a);
    expect(store.stats).toEqual({ prepared: 1, reused: 1 });
    expect((await store.mask(path, 8)).side).toBe(8);
    expect(store.stats.prepared).toBe(2);
    // Same content, new modification time: read again (the store cannot know it is unchanged).
    await savePng(path, { width: w, height: h, data: blobs(w, h, 6) }, { mask: true });
    const later = new Date(Date.now() + 5000);
    await utimes(path, later, later);
    const c = await store.mask(path, 16);
    expect(c).not.toBe(a);
    expect(c.labels).not.toEqual(a.labels);
    expect(await store.imageSize(path)).toEqual({ width: w, height: h });
  });
});
