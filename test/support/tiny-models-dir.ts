/**
 * A models directory in the manifest layout holding tiny Grounding DINO and RAM graphs (the real
 * exports' tensor names, outputs a known function of the inputs), for the iap-as end-to-end test
 * and eval/bench-pipeline.ts.
 *
 * Object query: a 0.7 x 0.7 box answering 'plate'. Anomaly queries answer 'defect' / 'abnormal',
 * which every caption holds (the answer cleaning appends them): two small boxes, and one wide box
 * (area 0.42 >= 0.49 * 0.8) that survives NMS (IoU 0.48 with the object box) but not the size filter.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildTinyGroundingDino, buildTinyRam, DEFAULT_RAM_DIR } from './tiny-models.js';

export const PLATE_TAG = 1342; // 0-based line of 'plate' in ram_tag_list.txt

export async function buildTinyIapasModels(modelsDir: string): Promise<void> {
  await buildTinyGroundingDino(join(modelsDir, 'grounding-dino-tiny'), {
    numQueries: 16,
    queries: [
      { box: [0.5, 0.5, 0.7, 0.7], tokens: { plate: 0.85 } },
      { box: [0.3, 0.3, 0.12, 0.1], tokens: { defect: 0.6 } },
      { box: [0.7, 0.62, 0.15, 0.2], tokens: { abnormal: 0.4 } },
      { box: [0.5, 0.5, 1.0, 0.42], tokens: { defect: 0.5 } },
    ],
  });
  const ramDir = join(modelsDir, 'ram-swin-large-14m');
  await buildTinyRam(join(ramDir, 'ram_swin_large_14m.onnx'), { tags: { [PLATE_TAG]: 0.95 } });
  await mkdir(ramDir, { recursive: true });
  for (const f of ['ram_tag_list.txt', 'ram_tag_list_threshold.txt']) await copyFile(join(DEFAULT_RAM_DIR, f), join(ramDir, f));
}
