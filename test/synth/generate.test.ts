import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/datasets/index.js';
import { loadMask, loadRgb } from '../../src/image/io.js';
import { DEFECT_KINDS, generateSyntheticDataset, renderSample, SCENE_KINDS } from '../../src/synth/index.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'iapas-synth-test-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const small = { size: 64, counts: { train: 2, testGood: 1, anomalous: 3 } };

describe('generateSyntheticDataset', () => {
  it('writes byte-identical files for the same seed, different ones for another seed', async () => {
    const [a, b, c] = [await tmp(), await tmp(), await tmp()];
    const ra = await generateSyntheticDataset(a, { ...small, seed: 5 });
    const rb = await generateSyntheticDataset(b, { ...small, seed: 5 });
    await generateSyntheticDataset(c, { ...small, seed: 6 });
    const rel = (root: string, files: string[]) => files.map((f) => relative(root, f));
    expect(rel(a, ra.files)).toEqual(rel(b, rb.files));
    expect(ra.files.length).toBe(3 * (2 + 1 + 3 * 2));
    let differs = 0;
    for (const f of rel(a, ra.files)) {
      const [x, y, z] = await Promise.all([readFile(join(a, f)), readFile(join(b, f)), readFile(join(c, f))]);
      expect(x.equals(y)).toBe(true);
      if (!x.equals(z)) differs++;
    }
    expect(differs).toBeGreaterThan(ra.files.length / 2);
  });

  it('is an MVTec-layout dataset the loader reads, with a mask of the image size per anomaly', async () => {
    const root = await tmp();
    await generateSyntheticDataset(root, { ...small, seed: 1, categories: ['disc', 'grain'] });
    const index = await loadDataset(root);
    expect(index.layout).toBe('mvtec');
    expect(index.categories).toEqual(['disc', 'grain']);
    const disc = index.samples.filter((s) => s.category === 'disc');
    expect(disc.filter((s) => s.split === 'train')).toHaveLength(2);
    const anomalous = disc.filter((s) => s.label === 'anomalous');
    expect(anomalous.map((s) => s.defectType).sort()).toEqual([...DEFECT_KINDS].sort());
    for (const s of anomalous) {
      const img = await loadRgb(s.imagePath);
      const m = await loadMask(s.maskPath!);
      expect([img.width, img.height, m.width, m.height]).toEqual([64, 64, 64, 64]);
      expect(m.data.some((v) => v === 1)).toBe(true);
    }
  });
});

describe('renderSample', () => {
  it('changes exactly the masked pixels (mask = where the defect was drawn)', () => {
    for (const category of SCENE_KINDS) {
      for (const defect of DEFECT_KINDS) {
        for (let slot = 0; slot < 3; slot++) {
          const s = renderSample(category, 11, `t${slot}`, 96, defect);
          let inMask = 0;
          let changedInMask = 0;
          for (let i = 0; i < s.mask.length; i++) {
            const changed = s.image[3 * i] !== s.clean[3 * i] || s.image[3 * i + 1] !== s.clean[3 * i + 1] || s.image[3 * i + 2] !== s.clean[3 * i + 2];
            if (s.mask[i]) {
              inMask++;
              if (changed) changedInMask++;
            } else if (changed) {
              throw new Error(`${category}/${defect}: pixel ${i} changed outside the mask`);
            }
          }
          expect(inMask).toBeGreaterThan(5);
          expect(changedInMask / inMask).toBeGreaterThan(0.97);
        }
      }
    }
  });

  it('keeps object defects on the object', () => {
    const good = renderSample('disc', 2, 'x', 128, 'good');
    const s = renderSample('disc', 2, 'x', 128, 'hole');
    expect(s.clean).toEqual(good.image);
    // background corner pixels are dark; every masked pixel lies on the bright part.
    for (let i = 0; i < s.mask.length; i++) if (s.mask[i]) expect(s.clean[3 * i]).toBeGreaterThan(60);
    expect(good.mask.every((v) => v === 0)).toBe(true);
  });
});
