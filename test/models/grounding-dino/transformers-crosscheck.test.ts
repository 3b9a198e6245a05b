/**
 * Cross-check against @huggingface/transformers' own Grounding DINO (model class + processor
 * post_process_grounded_object_detection) on the same tiny hub-layout folder: it loads the folder,
 * so the folder and graph have the layout the library expects, and its scores, boxes and labels
 * agree with ours before NMS. (Its image resize differs, see src/stages/detect.ts; the tiny
 * model's detections do not depend on pixels.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForZeroShotObjectDetection, AutoProcessor, RawImage, env } from '@huggingface/transformers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTinyGroundingDino } from '../../support/tiny-models.js';
import { GroundingDino, thresholdDetections } from '../../../src/models/grounding-dino/model.js';
import { describeWithShared, SHARED } from '../../support/shared.js';

describeWithShared('agreement with transformers.js Grounding DINO post-processing', [SHARED.bertTokenizer], () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'xcheck-'));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('gives the same boxes, scores and phrases', async () => {
    const info = await buildTinyGroundingDino(join(root, 'gd'), {
      numQueries: 30,
      queries: [
        { box: [0.5, 0.5, 0.6, 0.6], tokens: { hazel: 0.8, '##nut': 0.7 } },
        { box: [0.3, 0.35, 0.1, 0.2], tokens: { scratch: 0.6 } },
        { box: [0.6, 0.4, 0.5, 0.5], tokens: { hole: 0.4, scratch: 0.15 } },
        { box: [0.1, 0.1, 0.1, 0.1], tokens: { hole: 0.08 } },
      ],
    });
    const caption = 'hazelnut. scratch, hole.';
    const W = 320;
    const H = 240;
    const rgb = new Uint8Array(W * H * 3).fill(77);

    env.allowRemoteModels = false;
    const processor = await AutoProcessor.from_pretrained(info.dir, { local_files_only: true });
    const model = await AutoModelForZeroShotObjectDetection.from_pretrained(info.dir, { local_files_only: true, dtype: 'fp32' });
    const inputs = await processor(new RawImage(new Uint8ClampedArray(rgb), W, H, 3), caption);
    type Post = { post_process_grounded_object_detection: (o: unknown, ids: unknown, p: object) => unknown[] };
    const theirs = (processor as unknown as Post).post_process_grounded_object_detection(await model(inputs), inputs.input_ids, {
      box_threshold: 0.1,
      text_threshold: 0.1,
      target_sizes: [[H, W]],
    })[0] as { scores: number[]; boxes: number[][]; labels: string[] };
    await model.dispose();

    const gd = await GroundingDino.load(info.dir);
    const ours = thresholdDetections(await gd.infer({ width: W, height: H, data: rgb }, caption), { boxThreshold: 0.1, textThreshold: 0.1 });
    await gd.dispose();

    expect(ours.map((d) => d.phrase)).toEqual(['hazelnut', 'scratch', 'scratch hole']);
    expect(theirs.labels).toEqual(ours.map((d) => d.phrase));
    ours.forEach((d, i) => {
      expect(d.score).toBeCloseTo(theirs.scores[i], 6);
      d.box.forEach((v, j) => expect(v).toBeCloseTo(theirs.boxes[i][j], 3));
    });
  });
});
