/**
 * Time and peak memory of the pixel metrics on one large category: 200 maps of 400 x 400 = 32M
 * pooled pixels (the docs/method.md protocol at its default resolution), and the ratio against
 * scikit-learn on the same data when /usr/bin/python3 has sklearn.
 *
 *   npx tsx eval/bench-metrics.ts [--images 200] [--side 400]
 *
 * Every measurement runs in its own child process so that its peak RSS is its own.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelComponents } from '../src/image/connected-components.js';
import { EVAL_CURVE_POINTS } from '../src/config/schema.js';
import { pixelMetrics } from '../src/metrics/pixel-metrics.js';
import { CategoryEvaluator, resolveProtocol } from '../src/evaluation/protocol.js';
import { encodeNpy } from '../src/util/npy.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const images = Number(arg('--images', '200'));
const side = Number(arg('--side', '400'));

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Masks with a few rectangles on 70% of the images; scores = noise + a bonus inside defects. */
function makeImage(rnd: () => number, k: number): { map: Float32Array; mask: Uint8Array } {
  const n = side * side;
  const mask = new Uint8Array(n);
  if (k % 10 < 7) {
    const rects = 1 + Math.floor(rnd() * 3);
    for (let r = 0; r < rects; r++) {
      const w = 10 + Math.floor(rnd() * 60);
      const h = 10 + Math.floor(rnd() * 60);
      const x0 = Math.floor(rnd() * (side - w));
      const y0 = Math.floor(rnd() * (side - h));
      for (let y = y0; y < y0 + h; y++) mask.fill(1, y * side + x0, y * side + x0 + w);
    }
  }
  const map = new Float32Array(n);
  for (let i = 0; i < n; i++) map[i] = rnd() * 0.8 + mask[i] * 0.35 * rnd();
  return { map, mask };
}

function pool() {
  const rnd = xorshift(12345);
  const n = side * side;
  const scores = new Float32Array(images * n);
  const labels = new Uint8Array(images * n);
  const regions: number[] = [];
  const regionArea: number[] = [];
  for (let k = 0; k < images; k++) {
    const { map, mask } = makeImage(rnd, k);
    scores.set(map, k * n);
    labels.set(mask, k * n);
    const { labels: lab, components } = labelComponents(mask, side, side);
    const base = regionArea.length;
    for (const c of components) regionArea.push(c.area);
    for (let i = 0; i < n; i++) if (lab[i]) regions.push(base + lab[i] - 1);
  }
  return { scores, labels, posRegion: Uint32Array.from(regions), regionArea };
}

const mb = (b: number) => (b / 1048576).toFixed(0);

function child(mode: string): void {
  if (mode === 'protocol') {
    // Full protocol: 200 maps at 256 x 256 resized (bicubic) into the pool as they arrive, then metrics.
    const rnd = xorshift(777);
    const src = 256;
    const ev = new CategoryEvaluator('bench', images, resolveProtocol({ resolution: side }));
    const t0 = performance.now();
    for (let k = 0; k < images; k++) {
      const mask = new Uint8Array(src * src);
      if (k % 10 < 7) for (let y = 40; y < 90; y++) mask.fill(1, y * src + 30 + k % 50, y * src + 90 + k % 50);
      const map = new Float32Array(src * src);
      for (let i = 0; i < map.length; i++) map[i] = rnd() * 0.8 + mask[i] * 0.35 * rnd();
      ev.add(String(k), mask.some((v) => v), { data: map, width: src, height: src }, { data: mask, width: src, height: src });
    }
    const t1 = performance.now();
    const row = ev.finish();
    const t2 = performance.now();
    console.log(JSON.stringify({ mode, add_s: (t1 - t0) / 1000, metrics_s: (t2 - t1) / 1000, total_s: (t2 - t0) / 1000, peak_rss_mb: +mb(process.resourceUsage().maxRSS * 1024), auroc: row.pixel_auroc, aupro: row.aupro }));
    return;
  }
  const px = pool();
  const base = process.memoryUsage().rss;
  if (mode === 'dump') {
    const dir = args[args.indexOf('--dump') + 1];
    writeFileSync(join(dir, 'scores.npy'), encodeNpy(px.scores, [px.scores.length]));
    writeFileSync(join(dir, 'labels.npy'), encodeNpy(Float32Array.from(px.labels), [px.labels.length]));
    const t = performance.now();
    const c0 = process.cpuUsage();
    const m = pixelMetrics(px, { aupro: 'none' });
    const c1 = process.cpuUsage(c0);
    console.log(JSON.stringify({ mode, cpu: (c1.user + c1.system) / 1e6, seconds: (performance.now() - t) / 1000, auroc: m.auroc, ap: m.ap, f1: m.f1Max }));
    return;
  }
  const t = performance.now();
  const c0 = process.cpuUsage();
  // 'grid+curves': the same pass also recording metrics.json's downsampled curves (as the evaluator does).
  const [aupro, curves] = mode.split('+');
  const m = pixelMetrics(px, { aupro: aupro as 'grid' | 'exact' | 'none', curvePoints: curves ? EVAL_CURVE_POINTS : undefined });
  delete m.curves;
  const seconds = (performance.now() - t) / 1000;
  const c1 = process.cpuUsage(c0);
  const cpu = (c1.user + c1.system) / 1e6;
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ mode, cpu, pixels: px.scores.length, positives: px.posRegion.length, regions: px.regionArea.length, seconds, peak_rss_mb: +mb(peak), data_rss_mb: +mb(base), metrics: m }));
}

function runChild(mode: string, extra: string[] = []): Record<string, unknown> {
  const script = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, script, '--child', mode, '--images', String(images), '--side', String(side), ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const SKLEARN = `
import sys, time, numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score, precision_recall_curve
d = sys.argv[1]
s = np.load(d + '/scores.npy'); y = np.load(d + '/labels.npy').astype(np.uint8)
t = time.perf_counter(); c = time.process_time()
a = roc_auc_score(y, s); ap = average_precision_score(y, s)
p, r, _ = precision_recall_curve(y, s); f = 2 * p * r; b = p + r
f1 = np.max(np.divide(f, b, out=np.zeros_like(f), where=b != 0))
import resource
print(time.perf_counter() - t, a, ap, f1, time.process_time() - c, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
`;

function main(): void {
  const ci = args.indexOf('--child');
  if (ci >= 0) return child(args[ci + 1]);
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores (wall times grow with it)`);
  console.log(`pixel metrics on ${images} maps of ${side}x${side} = ${((images * side * side) / 1e6).toFixed(1)}M pooled pixels (each run in its own process)`);
  for (const mode of ['grid', 'grid+curves', 'exact', 'exact+curves']) {
    const r = runChild(mode);
    const m = r.metrics as Record<string, number>;
    console.log(
      `  AUROC + AP + F1-max + AUPRO(${mode}): ${(r.seconds as number).toFixed(2)} s wall (${(r.cpu as number).toFixed(2)} s CPU), peak RSS ${r.peak_rss_mb} MB (data alone ${r.data_rss_mb} MB); ` +
        `auroc ${m.auroc.toFixed(6)} ap ${m.ap.toFixed(6)} f1 ${m.f1Max.toFixed(6)} aupro ${m.aupro.toFixed(6)}`,
    );
  }
  const p = runChild('protocol');
  console.log(`  full protocol from 256x256 maps: resize+pool ${(p.add_s as number).toFixed(2)} s, metrics ${(p.metrics_s as number).toFixed(2)} s, peak RSS ${p.peak_rss_mb} MB`);
  const py = spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { encoding: 'utf8' });
  if (py.status !== 0) {
    console.log('  scikit-learn: /usr/bin/python3 with sklearn not found (apt-get install python3-sklearn); no ratio');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-metrics-'));
  try {
    const mine = runChild('dump', ['--dump', dir]);
    const sk = spawnSync('/usr/bin/python3', ['-c', SKLEARN, dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (sk.status !== 0) throw new Error(sk.stderr);
    const [secs, a, ap, f1, cpuSk, rss] = sk.stdout.trim().split(/\s+/).map(Number);
    console.log(
      `  AUROC + AP + F1-max: iapas ${(mine.seconds as number).toFixed(2)} s (${(mine.cpu as number).toFixed(2)} s CPU), ` +
        `scikit-learn ${secs.toFixed(2)} s (${cpuSk.toFixed(2)} s CPU, peak RSS ${rss.toFixed(0)} MB): ` +
        `${(secs / (mine.seconds as number)).toFixed(1)}x faster (CPU ${(cpuSk / (mine.cpu as number)).toFixed(1)}x); |diff| auroc ${Math.abs(a - (mine.auroc as number)).toExponential(1)}, ` +
        `ap ${Math.abs(ap - (mine.ap as number)).toExponential(1)}, f1 ${Math.abs(f1 - (mine.f1 as number)).toExponential(1)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
