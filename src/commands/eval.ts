import type { Command } from 'commander';
import { addConfigOptions, resolveConfig, type ConfigFlags } from './config-flags.js';
import { formatReportTable } from '../evaluation/report.js';
import { runEval } from '../session/run-dataset.js';
import { UserError } from '../util/errors.js';
import { maybeWriteJson } from './json-output.js';

interface EvalFlags extends ConfigFlags {
  dataset?: string;
  categories?: string;
  runDir?: string;
  resume?: boolean;
  limit?: string;
  json?: string;
  quiet?: boolean;
}

/** Ctrl-C stops scheduling new images; finished images are on disk, so `--resume` continues. */
export function abortOnSigint(): { signal: AbortSignal; dispose(): void } {
  const ctl = new AbortController();
  const handler = () => {
    if (ctl.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: finishing the images in flight (Ctrl-C again to quit now)\n');
    ctl.abort(new Error('interrupted'));
  };
  process.on('SIGINT', handler);
  return { signal: ctl.signal, dispose: () => process.off('SIGINT', handler) };
}

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('eval')
      .description('run a preset over a dataset (stage A per category, stage B per test image) and evaluate it')
      .requiredOption('--dataset <root>', 'dataset root (layout detected; see `iapas datasets inspect`)')
      .option('--categories <a,b>', 'only these categories')
      .option('--run-dir <dir>', 'where results go (default runs/<preset>-<dataset>-<config hash>)')
      .option('--resume', 'continue a run in --run-dir, skipping images whose results are complete')
      .option('--limit <n>', 'at most n test images per category (evenly spaced), for a quick look')
      .option('--quiet', 'no progress output')
      .option('--json <file>', 'write metrics, timing and cache counters as JSON'),
  ).action(async (opts: EvalFlags) => {
    const config = await resolveConfig(opts, 'iap-as');
    const limit = opts.limit === undefined ? undefined : Number(opts.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UserError(`--limit expects a positive integer, got '${opts.limit}'`);
    const sig = abortOnSigint();
    try {
      const res = await runEval({
        config,
        dataset: opts.dataset!,
        categories: opts.categories?.split(',').map((s) => s.trim()).filter(Boolean),
        runDir: opts.runDir,
        resume: opts.resume,
        limit,
        signal: sig.signal,
        quiet: opts.quiet,
      });
      printRunSummary(res.run);
      if (res.run.aborted) {
        process.stderr.write(`stopped early; continue with: iapas eval ... --run-dir ${res.runDir} --resume\n`);
        process.exitCode = 130;
      }
      if (res.metrics) process.stdout.write(formatReportTable(res.metrics) + '\n');
      process.stdout.write(`results: ${res.runDir}\n`);
      await maybeWriteJson(opts.json, { runDir: res.runDir, config, metrics: res.metrics, timing: res.run.timing, cache: res.run.cache, categories: res.run.categories });
    } finally {
      sig.dispose();
    }
  });
}

export function printRunSummary(run: import('../pipeline/runner.js').RunSummary): void {
  const images = run.categories.reduce((a, c) => a + c.computed, 0);
  const skipped = run.categories.reduce((a, c) => a + c.skipped, 0);
  const lines = [`${images} image(s) computed, ${skipped} already complete, ${run.wallSeconds} s`];
  lines.push('time per stage:');
  for (const [name, t] of Object.entries(run.timing)) {
    lines.push(`  ${name.padEnd(16)} ${String(t.calls).padStart(6)} calls  ${t.ms_per_call.toFixed(1).padStart(9)} ms/call  ${(t.total_ms / 1000).toFixed(1).padStart(7)} s`);
  }
  const cache = Object.entries(run.cache);
  const runs = Object.entries(run.modelRuns);
  if (runs.length) lines.push(`model runs: ${runs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (cache.length) {
    lines.push('model-output cache:');
    for (const [ns, c] of cache) lines.push(`  ${ns.padEnd(16)} ${c.hits} hit(s), ${c.misses} miss(es)`);
  }
  if (run.failed.length) {
    lines.push(`WARNING: ${run.failed.length} image(s) left out because of bad input (listed in failed.json; --resume retries them):`);
    for (const f of run.failed.slice(0, 10)) lines.push(`  ${f.category}/${f.relId}: ${f.error}`);
    if (run.failed.length > 10) lines.push(`  ... ${run.failed.length - 10} more`);
  }
  process.stderr.write(lines.join('\n') + '\n');
}
