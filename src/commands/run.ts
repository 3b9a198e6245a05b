import type { Command } from 'commander';
import { addConfigOptions, resolveConfig, type ConfigFlags } from './config-flags.js';
import { formatReportTable, runOnDataset, UserError } from '../api/index.js';
import { checkOutputs } from '../util/writable.js';
import { writeCommandRecord } from './invocation.js';
import { maybeWriteJson } from './json-output.js';
import { abortOnSigint, printEvaluationWarnings, printRunSummary } from './run-output.js';

interface RunFlags extends ConfigFlags {
  dataset?: string;
  categories?: string;
  runDir?: string;
  resume?: boolean;
  limit?: string;
  json?: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('run')
      .alias('eval')
      .description('run a preset over a dataset (stage A per category, stage B per test image), then evaluate its maps as `iapas evaluate` does')
      .requiredOption('--dataset <root>', 'dataset root (layout detected; see `iapas datasets inspect`)')
      .option('--categories <a,b>', 'only these categories')
      .option('--run-dir <dir>', 'where results go (default runs/<preset>-<dataset>-<config hash>)')
      .option('--resume', 'continue a run in --run-dir, skipping images whose results are complete')
      .option('--limit <n>', 'at most n test images per category (evenly spaced), for a quick look')
      .option('--quiet', 'no progress output')
      .option('--json <file>', 'write metrics, timing and cache counters as JSON'),
  ).action(async (opts: RunFlags) => {
    const config = await resolveConfig(opts, 'iap-as');
    const limit = opts.limit === undefined ? undefined : Number(opts.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UserError(`--limit expects a positive integer, got '${opts.limit}'`);
    await checkOutputs([
      ['--run-dir', opts.runDir, 'dir'],
      ['--json', opts.json, 'file'],
    ]);
    const sig = abortOnSigint();
    try {
      const res = await runOnDataset({
        config,
        dataset: opts.dataset!,
        categories: opts.categories?.split(',').map((s) => s.trim()).filter(Boolean),
        runDir: opts.runDir,
        resume: opts.resume,
        limit,
        signal: sig.signal,
        quiet: opts.quiet,
      });
      await writeCommandRecord(res.runDir);
      printRunSummary(res.run);
      if (res.run.aborted) {
        process.stderr.write(`stopped early; continue with: iapas run ... --run-dir ${res.runDir} --resume\n`);
        process.exitCode = 130;
      }
      if (res.metrics) {
        process.stdout.write(formatReportTable(res.metrics) + '\n');
        printEvaluationWarnings(res.metrics);
      }
      process.stdout.write(`results: ${res.runDir}\n`);
      await maybeWriteJson(opts.json, { runDir: res.runDir, config, metrics: res.metrics, timing: res.run.timing, cache: res.run.cache, categories: res.run.categories });
    } finally {
      sig.dispose();
    }
  });
}
