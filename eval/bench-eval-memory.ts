/**
 * Peak memory of one category's evaluation per pooled pixel (images x resolution^2): the figure
 * behind EVAL_BYTES_PER_PIXEL in src/evaluation/protocol.ts, which `iapas evaluate` and `iapas run`
 * use to refuse a category that would not fit in memory.
 *
 *   npx tsx eval/bench-eval-memory.ts [--images 24] [--side 1024] [--positive 0.05]
 *
 * Each AUPRO definition runs in its own child process; the figure is (peak RSS - RSS before the
 * evaluator exists) / pooled pixels. `--positive` is the fraction of anomalous pixels (the region
 * indices of positive pixels cost 4 bytes each, with room to grow).
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CategoryEvaluator, EVAL_BYTES_PER_PIXEL, resolveProtocol } from '../src/evaluation/protocol.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const images = Number(arg('--images', '24'));
const side = Number(arg('--side', '1024'));
const positive = Number(arg('--positive', '0.05'));

function child(aupro: 'grid' | 'exact'): void {
  const src = 128;
  let seed = 99;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  const base = process.memoryUsage().rss;
  const ev = new CategoryEvaluator('bench', images, resolveProtocol({ resolution: side, aupro, memoryLimit: 2 ** 40 }));
  const rows = Math.round(src * Math.sqrt(positive));
  for (let k = 0; k < images; k++) {
    const mask = new Uint8Array(src * src);
    for (let y = 0; y < rows; y++) mask.fill(1, (10 + y) * src + 10, (10 + y) * src + 10 + rows);
    const map = new Float32Array(src * src);
    for (let i = 0; i < map.length; i++) map[i] = rnd() + mask[i] * rnd();
    ev.add(String(k), true, { data: map, width: src, height: src }, { data: mask, width: src, height: src });
  }
  ev.finish();
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ aupro, bytes_per_pixel: (peak - base) / (images * side * side), peak_mb: peak / 2 ** 20, base_mb: base / 2 ** 20 }));
}

function main(): void {
  const ci = args.indexOf('--child');
  if (ci >= 0) return child(args[ci + 1] as 'grid' | 'exact');
  console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores`);
  console.log(`${images} maps at ${side}x${side} = ${((images * side * side) / 1e6).toFixed(1)}M pooled pixels, ${(100 * positive).toFixed(0)}% anomalous; EVAL_BYTES_PER_PIXEL = ${EVAL_BYTES_PER_PIXEL}`);
  for (const aupro of ['grid', 'exact']) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', aupro, '--images', String(images), '--side', String(side), '--positive', String(positive)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`  AUPRO ${aupro}: ${j.bytes_per_pixel.toFixed(2)} bytes per pooled pixel (peak RSS ${j.peak_mb.toFixed(0)} MB, ${j.base_mb.toFixed(0)} MB before the evaluator)`);
  }
}

main();
