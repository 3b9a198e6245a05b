/**
 * The per-scale feature-grid step of the `minisam-ms` backbone (crop, pool, local mean, L2 per
 * cell): the plain-JS reference (test/support/scale-grid-reference.ts, what the backbone ran
 * before) against the onnxruntime graph it runs now (src/models/backbones/scale-grid-ort.ts), on
 * the encoder tensors of real images of the shared samples, in the same process. Each repeat runs
 * all four scales in JS, then in ORT (the order alternates between repeats), so machine load hits
 * both alike; the warm-up run of each, which builds the ORT sessions, is not counted. With
 * --expose-gc the heap is collected before each phase, so a phase does not pay for collecting the
 * other's garbage (the JS steps allocate ~3x more). Prints per-scale median ms, their ratio, and
 * the largest absolute difference between the two grids.
 *
 *   npx tsx --expose-gc eval/bench-features.ts [--repeats 7] [--images mvtec_ad/grid/train/good/000.png,...]
 *
 * Image paths are relative to the shared datasets folder (test/support/shared.ts).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRgb } from '../src/image/io.js';
import { MINISAM_MS } from '../src/models/backbones/entries.js';
import { scaleGrid } from '../src/models/backbones/sam-inner.js';
import type { FeatureGrid } from '../src/models/backbones/types.js';
import { SamModel } from '../src/models/sam/model.js';
import { resizedShape } from '../src/models/sam/transforms.js';
import { scaleGridReference } from '../test/support/scale-grid-reference.js';
import { missingShared, SHARED } from '../test/support/shared.js';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '7' },
    images: { type: 'string', default: 'mvtec_ad/grid/train/good/000.png,mtd/MT_Free/Imgs/exp1_num_195647.jpg' },
  },
});
const repeats = Math.max(1, Number(values.repeats));
const paths = values.images!.split(',').map((p) => join(SHARED.datasets, p));
const missing = missingShared(...paths);
if (missing) {
  console.error(`bench-features: ${missing} not found (the shared samples sit beside the repository as ../shared)`);
  process.exit(1);
}

/** Present when node runs with --expose-gc: each timed phase then starts from a collected heap. */
const gc = (globalThis as { gc?: () => void }).gc;
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const sam = await SamModel.load(undefined);
const scales = MINISAM_MS.scales;
const tensors = [...new Set(scales.map((s) => s.tensor))];
let maxDiff = 0;
try {
  for (const path of paths) {
    const image = await loadRgb(path);
    const resized = resizedShape(image.width, image.height, sam.imageSize);
    const t0 = performance.now();
    const { inner } = await sam.encodeWithInner(image, tensors);
    const encoderMs = performance.now() - t0;
    console.log(`\n${path.slice(SHARED.datasets.length + 1)} (${image.width}x${image.height}; encoder pass ${encoderMs.toFixed(0)} ms; median ms of ${repeats} repeats after a warm-up${gc ? ', heap collected before each phase' : ''})`);
    console.log('scale  grid          js ms   ort ms   js/ort   max |js - ort|');
    const per = scales.map(() => ({ js: [] as number[], ort: [] as number[], diff: 0 }));
    const totals = { js: [] as number[], ort: [] as number[] };
    const phase = async (kind: 'js' | 'ort', record: boolean): Promise<FeatureGrid[]> => {
      gc?.();
      const grids: FeatureGrid[] = [];
      let sum = 0;
      for (const [i, s] of scales.entries()) {
        const a = performance.now();
        grids.push(kind === 'js' ? scaleGridReference(inner[s.tensor], s, image, resized) : await scaleGrid(inner[s.tensor], s, image, resized));
        const ms = performance.now() - a;
        sum += ms;
        if (record) per[i][kind].push(ms);
      }
      if (record) totals[kind].push(sum);
      return grids;
    };
    const refs = await phase('js', false);
    const gots = await phase('ort', false);
    for (const [i, s] of scales.entries()) {
      if (gots[i].data.length !== refs[i].data.length) throw new Error(`scale ${s.name}: ORT grid has ${gots[i].data.length} values, JS ${refs[i].data.length}`);
      for (let k = 0; k < refs[i].data.length; k++) per[i].diff = Math.max(per[i].diff, Math.abs(refs[i].data[k] - gots[i].data[k]));
      maxDiff = Math.max(maxDiff, per[i].diff);
    }
    for (let r = 0; r < repeats; r++) {
      for (const kind of r % 2 === 0 ? (['js', 'ort'] as const) : (['ort', 'js'] as const)) await phase(kind, true);
    }
    for (const [i, s] of scales.entries()) {
      const js = median(per[i].js);
      const ort = median(per[i].ort);
      console.log(`${s.name.padEnd(6)} ${`${refs[i].gridHeight}x${refs[i].gridWidth}x${refs[i].dim}`.padEnd(12)} ${js.toFixed(1).padStart(7)} ${ort.toFixed(1).padStart(8)} ${(js / ort).toFixed(1).padStart(8)}   ${per[i].diff.toExponential(2)}`);
    }
    const js = median(totals.js);
    const ort = median(totals.ort);
    console.log(`all    ${''.padEnd(12)} ${js.toFixed(1).padStart(7)} ${ort.toFixed(1).padStart(8)} ${(js / ort).toFixed(1).padStart(8)}`);
  }
  console.log(`\nmax |js - ort| over every scale and image: ${maxDiff.toExponential(2)}`);
} finally {
  await sam.dispose();
}
