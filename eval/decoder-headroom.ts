/**
 * How much of the box-prompted oracle IoU the frozen decoder leaves in its own outputs: on each
 * held-out shared set, every ground-truth box of oracle mode `b` is decoded once with all four
 * mask tokens (multimask-export.ts), and the image's union mask is scored (oracle IoU: mean per
 * image, then per category, then over categories) for four choices of token per prompt:
 *   export      the export's own choice (exportChoice: a box alone takes the multimask output
 *               with the best predicted IoU), i.e. what every preset and `iapas oracle` get today;
 *   single      token 0 (segment-anything's multimask_output=False);
 *   best-multi  of tokens 1-3 the one with the highest TRUE IoU;
 *   best-any    of tokens 0-3 the one with the highest TRUE IoU.
 * "True IoU" of a prompt's candidate is its IoU with the ground truth inside the prompt's box
 * (pixels outside count as false positives), so with several defects a prompt is judged on its
 * own component. best-* minus export is what a perfect IoU head would add without changing any
 * mask; it bounds what tuning the head (losses.iou, mask tokens) alone can gain. Asserts nothing.
 *
 *   nice -n 19 node --import tsx eval/decoder-headroom.ts [--datasets mvtec_ad,...] [--oracle-max-images 12]
 *       [--decoder <sam.onnx>] [--cache <dir>] [--json out.json]
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/datasets/index.js';
import { loadMask, loadRgb } from '../src/image/io.js';
import { resizeNearest } from '../src/image/resize.js';
import { unionMask } from '../src/image/masks.js';
import { OracleAccumulator } from '../src/methods/oracle/accumulate.js';
import { imageSeed, oraclePrompts } from '../src/methods/oracle/modes.js';
import { selectOracleSamples } from '../src/methods/oracle/study.js';
import { defaultSamEntry } from '../src/models/sam/model-entry.js';
import { SamModel, type SamMaskCandidate } from '../src/models/sam/model.js';
import { exportChoice } from '../src/models/sam/multimask-export.js';
import type { SamPrompt } from '../src/models/sam/transforms.js';
import { DiskCache } from '../src/util/disk-cache.js';
import { meanDefined } from '../src/util/numeric.js';
import { mulberry32 } from '../src/util/random.js';
import { SHARED } from '../test/support/shared.js';

const { values } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'mvtec_ad,mpdd,mtd,ksdd-derived,hazelnut_toy' },
    'oracle-max-images': { type: 'string', default: '12' },
    decoder: { type: 'string' },
    cache: { type: 'string' },
    json: { type: 'string' },
  },
});

const CHOICES = ['export', 'single', 'best-multi', 'best-any'] as const;
type Choice = (typeof CHOICES)[number];

/** IoU of a candidate with the ground truth inside the prompt's box (the prompt's own component). */
export function boxedIou(mask: Uint8Array, gt: Uint8Array, width: number, box: readonly [number, number, number, number]): number {
  const [x0, y0, x1, y1] = box.map(Math.round);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < mask.length; i++) {
    const x = i % width;
    const y = (i - x) / width;
    const t = gt[i] && x >= x0 && x <= x1 && y >= y0 && y <= y1 ? 1 : 0;
    const p = mask[i] ? 1 : 0;
    inter += p & t;
    union += p | t;
  }
  return union ? inter / union : 0;
}

function pick(choice: Choice, cands: SamMaskCandidate[], numPoints: number, trueIou: number[]): SamMaskCandidate {
  if (choice === 'export') return cands[exportChoice(cands.map((c) => c.iou), numPoints)];
  if (choice === 'single') return cands[0];
  const from = choice === 'best-multi' ? [1, 2, 3] : [0, 1, 2, 3];
  return cands[from.reduce((b, t) => (trueIou[t] > trueIou[b] ? t : b), from[0])];
}

async function main(): Promise<void> {
  const datasets = values.datasets!.split(',');
  const maxImages = Number(values['oracle-max-images']);
  const cache = values.cache ? new DiskCache(values.cache) : undefined;
  const sam = await SamModel.load({ ...defaultSamEntry(), ...(values.decoder ? { decoderPath: values.decoder } : {}) }, { cache });
  const rows: { dataset: string; iou: Record<Choice, number | null>; tokens: Record<Choice, number[]> }[] = [];
  try {
    for (const ds of datasets) {
      const index = await loadDataset(join(SHARED.datasets, ds));
      const perCat: Record<Choice, (number | null)[]> = { export: [], single: [], 'best-multi': [], 'best-any': [] };
      const tokens = Object.fromEntries(CHOICES.map((c) => [c, [0, 0, 0, 0]])) as Record<Choice, number[]>;
      for (const category of index.categories) {
        const { anomalous } = selectOracleSamples(index.samples, category, { modes: ['b'], maxImages, seed: 0 });
        const accs = Object.fromEntries(CHOICES.map((c) => [c, new OracleAccumulator(256)])) as Record<Choice, OracleAccumulator>;
        for (const sample of anomalous) {
          const image = await loadRgb(sample.imagePath);
          const { width, height } = image;
          const m = await loadMask(sample.maskPath!);
          const gt = m.width === width && m.height === height ? m.data : resizeNearest(m.data, m.width, m.height, width, height);
          const prompts: SamPrompt[] = oraclePrompts('b', gt, width, height, { random: mulberry32(imageSeed(0, category, sample.relId)), points: 20 });
          const embedding = await sam.encode(image);
          const chosen: Record<Choice, Uint8Array[]> = { export: [], single: [], 'best-multi': [], 'best-any': [] };
          for (const prompt of prompts) {
            const { candidates, numPoints } = await sam.decodeCandidates(embedding, prompt);
            const trueIou = candidates.map((c) => boxedIou(c.mask, gt, width, prompt.box!));
            for (const c of CHOICES) {
              const p = pick(c, candidates, numPoints, trueIou);
              chosen[c].push(p.mask);
              tokens[c][p.token]++;
            }
          }
          for (const c of CHOICES) accs[c].add(unionMask(chosen[c], width * height), null, gt, width, height, prompts.length);
        }
        for (const c of CHOICES) perCat[c].push(accs[c].finish().iou);
      }
      const iou = Object.fromEntries(CHOICES.map((c) => [c, meanDefined(perCat[c])])) as Record<Choice, number | null>;
      rows.push({ dataset: ds, iou, tokens });
      const f = (v: number | null) => (v === null ? '-' : (100 * v).toFixed(1));
      console.log(`${ds}: ${CHOICES.map((c) => `${c} ${f(iou[c])} (tokens ${tokens[c].join('/')})`).join(' | ')}`);
    }
  } finally {
    await sam.dispose();
  }
  const f = (v: number | null) => (v === null ? '-' : (100 * v).toFixed(1));
  console.log('\n| choice | ' + datasets.join(' | ') + ' |\n|---|' + datasets.map(() => '---|').join(''));
  for (const c of CHOICES) console.log(`| ${c} | ${rows.map((r) => f(r.iou[c])).join(' | ')} |`);
  if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), maxImages, decoder: values.decoder ?? null, rows }, null, 2));
}

await main();
