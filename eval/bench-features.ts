/**
 * The per-scale feature-grid step of the `minisam-ms` backbone (crop, pool, local mean, L2 per
 * cell): the plain-JS reference (test/support/scale-grid-reference.ts, what the backbone ran
 * before) against the onnxruntime graph it runs now (src/models/backbones/scale-grid-ort.ts), on
 * the encoder tensors of real images of the shared samples, in the same process. JS and ORT
 * alternate within each repeat, so machine load hits both alike; the first (warm-up) run of each,
 * which builds the ORT sessions, is not counted. Prints per-scale median ms, their ratio, and the
 * largest absolute difference between the two grids.
 *
 *   npx tsx eval/bench-features.ts [--repeats 7] [--images mvtec_ad/grid/train/good/000.png,...]
 *
 * Image paths are relative to the shared datasets folder (test/support/shared.ts).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRgb } from '../src/image/io.js';
import { MINISAM_MS } from '../src/models/backbones/entries.js';
import { scaleGrid } from '../src/models/backbones/sam-inner.js';
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
    console.log(`\n${path.slice(SHARED.datasets.length + 1)} (${image.width}x${image.height}; encoder pass ${encoderMs.toFixed(0)} ms, ${repeats} repeats after a warm-up, median ms)`);
    console.log('scale  grid          js ms   ort ms   js/ort   max |js - ort|');
    const totals = { js: [] as number[], ort: [] as number[] };
    const per = scales.map(() => ({ js: [] as number[], ort: [] as number[], diff: 0 }));
    for (let r = 0; r <= repeats; r++) {
      let sumJs = 0;
      let sumOrt = 0;
      for (const [i, s] of scales.entries()) {
        const t = inner[s.tensor];
        let a = performance.now();
        const ref = scaleGridReference(t, s, image, resized);
        const js = performance.now() - a;
        a = performance.now();
        const got = await scaleGrid(t, s, image, resized);
        const ort = performance.now() - a;
        if (r === 0) {
          if (got.data.length !== ref.data.length) throw new Error(`scale ${s.name}: ORT grid has ${got.data.length} values, JS ${ref.data.length}`);
          for (let k = 0; k < ref.data.length; k++) per[i].diff = Math.max(per[i].diff, Math.abs(ref.data[k] - got.data[k]));
          maxDiff = Math.max(maxDiff, per[i].diff);
          continue;
        }
        per[i].js.push(js);
        per[i].ort.push(ort);
        sumJs += js;
        sumOrt += ort;
      }
      if (r > 0) {
        totals.js.push(sumJs);
        totals.ort.push(sumOrt);
      }
    }
    const grid = (s: (typeof scales)[number]): string => {
      const h = Math.ceil(Math.ceil(resized.height / s.stride) / s.pool);
      const w = Math.ceil(Math.ceil(resized.width / s.stride) / s.pool);
      return `${h}x${w}x${inner[s.tensor].dims.length === 3 ? inner[s.tensor].dims[2] : inner[s.tensor].dims[1]}`;
    };
    for (const [i, s] of scales.entries()) {
      const js = median(per[i].js);
      const ort = median(per[i].ort);
      console.log(`${s.name.padEnd(6)} ${grid(s).padEnd(12)} ${js.toFixed(1).padStart(7)} ${ort.toFixed(1).padStart(8)} ${(js / ort).toFixed(1).padStart(8)}   ${per[i].diff.toExponential(2)}`);
    }
    const js = median(totals.js);
    const ort = median(totals.ort);
    console.log(`all    ${''.padEnd(12)} ${js.toFixed(1).padStart(7)} ${ort.toFixed(1).padStart(8)} ${(js / ort).toFixed(1).padStart(8)}`);
  }
  console.log(`\nmax |js - ort| over every scale and image: ${maxDiff.toExponential(2)}`);
} finally {
  await sam.release();
}
