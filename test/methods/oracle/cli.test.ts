import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../../src/cli.js';
import { describeWithShared, SHARED } from '../../support/shared.js';

const SRC = join(SHARED.datasets, 'mvtec_ad', 'metal_nut');

// One real image (one encoder run) in a temporary MVTec-layout tree.
describeWithShared('iapas oracle on real SAM weights', [SRC], () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iapas-oracle-'));
    const cat = join(dir, 'data', 'metal_nut');
    await mkdir(join(cat, 'test', 'bent'), { recursive: true });
    await mkdir(join(cat, 'test', 'good'), { recursive: true });
    await mkdir(join(cat, 'ground_truth', 'bent'), { recursive: true });
    await copyFile(join(SRC, 'test/bent/000.png'), join(cat, 'test/bent/000.png'));
    await copyFile(join(SRC, 'test/good/004.png'), join(cat, 'test/good/004.png'));
    await copyFile(join(SRC, 'ground_truth/bent/000_mask.png'), join(cat, 'ground_truth/bent/000_mask.png'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the table and JSON; GT boxes beat the whole-image box', async () => {
    const out = join(dir, 'out');
    const json = join(dir, 'oracle.json');
    process.exitCode = undefined;
    await main(['node', 'iapas', 'oracle', '--dataset', join(dir, 'data'), '--modes', 'naive,b,bp', '--out', out, '--json', json, '--quiet']);
    expect(process.exitCode ?? 0).toBe(0);
    const r = JSON.parse(await readFile(json, 'utf8'));
    expect(r.categories).toHaveLength(1);
    const c = r.categories[0];
    expect(c).toMatchObject({ category: 'metal_nut', anomalous: 1, normal: 0 });
    // Measured: naive IoU 0.03, b 0.86, bp 0.87; P-AUROC b 0.997.
    expect(c.figures.b.iou).toBeGreaterThan(0.7);
    expect(c.figures.bp.iou).toBeGreaterThan(0.7);
    expect(c.figures.naive.iou).toBeLessThan(c.figures.b.iou);
    expect(c.figures.b.pixel_auroc).toBeGreaterThan(0.95);
    expect(c.figures.b.prompts).toBe(2);
    expect(r.mean.b.iou).toBe(c.figures.b.iou);
    const table = await readFile(join(out, 'oracle.csv'), 'utf8');
    expect(table.split('\n')[0]).toBe('category,images,image box: IoU / P-AUROC,box: IoU / P-AUROC,box + 1 point: IoU / P-AUROC');
    expect(table).toMatch(/^mean,1,/m);
  });

  it('adds refinement columns with their decoder calls', async () => {
    const json = join(dir, 'refine.json');
    process.exitCode = undefined;
    await main(['node', 'iapas', 'oracle', '--dataset', join(dir, 'data'), '--modes', 'b', '--refine', 'self,cascade,multimask', '--set', 'sam.self_iterations=2', '--json', json, '--quiet']);
    expect(process.exitCode ?? 0).toBe(0);
    const r = JSON.parse(await readFile(json, 'utf8'));
    expect(r.columns).toEqual(['b', 'b+self', 'b+cascade', 'b+multimask']);
    const f = r.categories[0].figures;
    // Two ground-truth regions: one decode each for b, two each for cascade, one to three each for self.
    expect(f.b.decoder_calls).toBe(2);
    expect(f['b+cascade'].decoder_calls).toBe(4);
    expect(f['b+self'].decoder_calls).toBeGreaterThanOrEqual(4);
    expect(f['b+self'].decoder_calls).toBeLessThanOrEqual(6);
    // A box alone: the export already returns the best multimask output by predicted IoU.
    expect(f['b+multimask'].decoder_calls).toBe(2);
    expect(f['b+multimask'].iou).toBe(f.b.iou);
    for (const c of r.columns) expect(f[c].iou).toBeGreaterThan(0.6);
  });

  it('fails with a one-line error on an unknown mode', async () => {
    process.exitCode = undefined;
    await main(['node', 'iapas', 'oracle', '--dataset', join(dir, 'data'), '--modes', 'box', '--quiet']);
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
  });
});
