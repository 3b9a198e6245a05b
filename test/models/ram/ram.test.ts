import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_RAM_DIR, buildTinyGroundingDino, buildTinyRam, logit } from '../../support/tiny-models.js';
import { DEFAULT_DETECT_PARAMS, GroundingDino, prepareCaption } from '../../../src/models/grounding-dino/model.js';
import { objectTagFromReferences } from '../../../src/methods/iapas/object-tag.js';
import type { RgbImage } from '../../../src/image/types.js';
import {
  RamTagger,
  loadRamTagList,
  ramPreprocess,
  tagStringToCaption,
  tagsFromLogits,
  type RamTagList,
} from '../../../src/models/ram/model.js';
import { DiskCache } from '../../../src/util/disk-cache.js';
import { describeWithShared, SHARED } from '../../support/shared.js';

const TAGS = join(DEFAULT_RAM_DIR, 'ram_tag_list.txt');
const THRESH = join(DEFAULT_RAM_DIR, 'ram_tag_list_threshold.txt');
// Indices (0-based lines of ram_tag_list.txt) and thresholds read by hand from the two files.
const BOLT = 504; // 0.65
const CLOSE_UP = 976; // 0.8
const METAL = 2627; // 0.8
const SCREW = 3562; // 0.65

function uniform(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

describeWithShared('RAM tag list and thresholds', [TAGS], () => {
  let list: RamTagList;
  beforeAll(async () => {
    list = await loadRamTagList(TAGS, THRESH);
  });

  it('reads 4585 names with their own thresholds', () => {
    expect(list.names).toHaveLength(4585);
    expect([list.names[SCREW], list.names[METAL], list.names[CLOSE_UP]]).toEqual(['screw', 'metal', 'close-up']);
    expect(list.thresholds[SCREW]).toBeCloseTo(0.65, 6);
    expect(list.thresholds[METAL]).toBeCloseTo(0.8, 6);
  });

  it('falls back to 0.68 where the threshold file has no line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ramlist-'));
    await writeFile(join(dir, 't.txt'), 'a\nb\nc');
    await writeFile(join(dir, 'th.txt'), '0.5\n');
    const l = await loadRamTagList(join(dir, 't.txt'), join(dir, 'th.txt'));
    expect(Array.from(l.thresholds)).toEqual([0.5, Math.fround(0.68), Math.fround(0.68)]);
    await rm(dir, { recursive: true });
  });

  it('keeps a tag when sigmoid(logit) > its own threshold, in index order', () => {
    const logits = new Float32Array(4585).fill(-10);
    logits[SCREW] = logit(0.7); // > 0.65
    logits[METAL] = logit(0.75); // < 0.8
    logits[BOLT] = logit(0.66);
    expect(tagsFromLogits(logits, list).map((t) => t.name)).toEqual(['bolt', 'screw']);
    expect(() => tagsFromLogits(new Float32Array(10), list)).toThrow(/4585/);
  });

  it('turns the tag string into a caption as the reference does', () => {
    expect(tagStringToCaption('metal | close-up | screw | face close-up')).toBe('metal. screw. face close-up');
    expect(tagStringToCaption('close-up')).toBe('');
  });
});

describeWithShared('RAM adapter on a tiny ONNX graph', [TAGS, SHARED.bertTokenizer], () => {
  let root: string;
  let tagger: RamTagger;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ram-'));
    const p = await buildTinyRam(join(root, 'ram.onnx'), {
      tags: { [SCREW]: 0.9, [METAL]: 0.85, [CLOSE_UP]: 0.95, [BOLT]: 0.6 },
      probeTag: 0,
    });
    tagger = await RamTagger.load({ model: p, tagList: TAGS, thresholds: THRESH }, { cache: new DiskCache(join(root, 'cache')) });
  });
  afterAll(async () => {
    await tagger?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('resizes to 384x384 and normalises with ImageNet mean/std', async () => {
    const rgb: [number, number, number] = [30, 160, 220];
    const x = await ramPreprocess(uniform(100, 60, rgb));
    expect(x).toHaveLength(3 * 384 * 384);
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    rgb.forEach((v, c) => expect(x[c * 384 * 384 + 777]).toBeCloseTo((v / 255 - mean[c]) / std[c], 5));
    const logits = await tagger.logits(uniform(100, 60, rgb));
    const expected = rgb.reduce((a, v, c) => a + (v / 255 - mean[c]) / std[c], 0) / 3;
    expect(logits[0]).toBeCloseTo(-10 + expected, 3);
    const again = await tagger.logits(uniform(100, 60, rgb));
    expect(again).toEqual(logits);
    expect((tagger as unknown as { cache: DiskCache }).cache.stats.get('ram')).toEqual({ hits: 1, misses: 1 });
  });

  it('tags an image and builds the caption (close-up dropped)', async () => {
    const r = await tagger.tag(uniform(500, 400, [128, 128, 128]));
    expect(r.tags.map((t) => t.name)).toEqual(['close-up', 'metal', 'screw']);
    expect(r.tagString).toBe('close-up | metal | screw');
    expect(r.caption).toBe('metal. screw');
  });

  it('finds the object tag of k references through RAM and Grounding DINO', async () => {
    const info = await buildTinyGroundingDino(join(root, 'gd'), {
      numQueries: 20,
      queries: [
        { box: [0.5, 0.5, 0.6, 0.6], tokens: { screw: 0.7 } },
        { box: [0.52, 0.5, 0.6, 0.6], tokens: { metal: 0.5 } },
        { box: [0.2, 0.2, 0.1, 0.1], tokens: { metal: 0.4 } },
      ],
    });
    const gd = await GroundingDino.load(info.dir);
    const imgs = [1, 2, 3].map((i) => uniform(64, 64, [i * 20, 50, 50]));
    const res = await objectTagFromReferences(imgs, tagger, { raw: (img, cap) => gd.infer(img, prepareCaption(cap)) }, DEFAULT_DETECT_PARAMS);
    expect(res.objectTag).toBe('screw');
    expect(res.perImage.map((p) => p.caption)).toEqual(['metal. screw', 'metal. screw', 'metal. screw']);
    expect(res.candidates.map((c) => c.phrase)).toEqual(['screw']);
    expect(res.candidates[0].score).toBeCloseTo(0.7, 5);
    await gd.dispose();
  });
});
