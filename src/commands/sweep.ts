import type { Command } from 'commander';
import { METRIC_KEYS, type MetricKey } from '../evaluation/protocol.js';
import { describePlan, mergedNote } from '../session/sweep/describe.js';
import { DEFAULT_MAX_JOBS, expandSweep } from '../session/sweep/expand.js';
import { runSweepLocal } from '../session/sweep/local.js';
import { recheckFinishedJobs, type ChangedJob } from '../session/sweep/recheck.js';
import { readQueueSecret, SECRET_ENV } from '../session/sweep/job-signature.js';
import { submitSweep } from '../session/sweep/queue.js';
import { writeSweepReport } from '../session/sweep/finish.js';
import { readSweepSpec, sweepSpecSchema } from '../session/sweep/spec.js';
import { acquireSweepLock } from '../run-directory/sweep-manifest.js';
import { prepareSweepDir } from '../session/sweep/sweep-dir.js';
import { UserError } from '../util/errors.js';
import { maskUrlPassword } from '../util/url-mask.js';
import { positive } from './config-flags.js';
import { maybeWriteJson } from './json-output.js';
import { abortOnSigint } from './run-output.js';
import { CONFIG_DEFAULTS } from '../methods/registry.js';

interface SweepFlags {
  dryRun?: boolean;
  resume?: boolean;
  out?: string;
  metric?: string;
  queue?: string;
  secretFile?: string;
  timeout?: string;
  concurrency?: string;
  cacheDir?: string;
  modelsDir?: string;
  maxJobs?: string;
  quiet?: boolean;
  json?: string;
}

const DEFAULT_METRIC = sweepSpecSchema.parse({ datasets: ['x'] }).metric;

/** The finished jobs a resume runs again because their inputs changed, one line each (at most 10). */
function reportChanged(changed: ChangedJob[]): void {
  if (changed.length === 0) return;
  process.stderr.write(`${changed.length} finished job(s) re-run for changed inputs:\n`);
  for (const c of changed.slice(0, 10)) process.stderr.write(`  ${c.job}: ${c.reason}\n`);
  if (changed.length > 10) process.stderr.write(`  ... and ${changed.length - 10} more\n`);
}

export function register(program: Command): void {
  program
    .command('sweep <spec>')
    .description('run every point of a grid of configurations on every dataset of a spec (YAML or JSON), each model output computed once; results.csv, results.json and a summary in the sweep directory')
    .option('--dry-run', 'print the runs with their ids and values and the model passes they share; run nothing')
    .option('--resume', 'continue the sweep in its directory: finished jobs are kept, unfinished ones resume from their run directories')
    .option('--out <dir>', "sweep directory (default: the spec's out, else runs/sweep-<name>)")
    .option('--metric <name>', `metric the summary ranks by: ${METRIC_KEYS.join(' | ')} (default: the spec's, else ${DEFAULT_METRIC})`)
    .option('--queue <url>', 'enqueue the jobs on BullMQ at redis://host:port and wait for `iapas worker` processes (sweep directory and cache on a shared filesystem)')
    .option('--secret-file <file>', `with --queue: sign the jobs with the secret in this file (default: $${SECRET_ENV} when set); workers with the secret run only signed jobs`)
    .option('--timeout <s>', 'with --queue: stop waiting after s seconds (the jobs stay queued; re-attach with --resume)')
    .option('--concurrency <n>', 'images in flight per run (default: from the core count)')
    .option('--cache-dir <dir>', 'model-output cache (default $IAPAS_CACHE or .cache/iapas)')
    .option('--models-dir <dir>', `where model weights live (default ${CONFIG_DEFAULTS.models_dir}/)`)
    .option('--max-jobs <n>', `refuse a spec that expands to more than n jobs (runs x datasets), counted before anything is expanded (default ${DEFAULT_MAX_JOBS})`)
    .option('--quiet', 'no progress output')
    .option('--json <file>', 'write the summary and the result rows as JSON')
    .action(async (specPath: string, opts: SweepFlags) => {
      if (opts.metric !== undefined && !(METRIC_KEYS as readonly string[]).includes(opts.metric)) {
        throw new UserError(`--metric must be one of ${METRIC_KEYS.join(', ')}, got '${opts.metric}'`);
      }
      const timeoutS = positive('timeout', opts.timeout, false);
      if (timeoutS !== undefined && !opts.queue) throw new UserError('--timeout applies to --queue only');
      if (opts.secretFile !== undefined && !opts.queue) throw new UserError('--secret-file applies to --queue only');
      const spec = await readSweepSpec(specPath);
      const plan = expandSweep(spec, {
        out: opts.out,
        maxJobs: positive('max-jobs', opts.maxJobs, true),
        runOnly: { concurrency: positive('concurrency', opts.concurrency, true), cache_dir: opts.cacheDir, models_dir: opts.modelsDir },
      });
      if (opts.dryRun) {
        process.stdout.write(describePlan(plan) + '\n');
        return;
      }
      const merged = mergedNote(plan);
      if (merged && !opts.quiet) process.stderr.write(merged + '\n');
      const metric = (opts.metric ?? spec.metric) as MetricKey;
      const again = `iapas sweep ${specPath}${opts.out ? ` --out ${opts.out}` : ''}${opts.queue ? ` --queue ${maskUrlPassword(opts.queue)}` : ''}${opts.secretFile ? ` --secret-file ${opts.secretFile}` : ''} --resume`;
      const lock = await acquireSweepLock(plan.dir, `iapas sweep ${specPath}${opts.resume ? ' --resume' : ''}`);
      const sig = abortOnSigint();
      try {
        if (opts.queue) {
          await prepareSweepDir(plan, !!opts.resume);
          // The submitter checks the finished jobs: it sees the sweep directory and the datasets.
          if (opts.resume) reportChanged(await recheckFinishedJobs(plan));
          const secret = await readQueueSecret(opts.secretFile);
          const out = await submitSweep(plan, { url: opts.queue, signal: sig.signal, timeoutS, quiet: opts.quiet, secret });
          process.stderr.write(`${out.enqueued} job(s) queued, ${out.skipped} already finished, ${out.completed} completed and ${out.failed} failed while waiting\n`);
          if (out.detached) {
            process.stderr.write(`stopped waiting; unfinished jobs stay queued for the workers. Re-attach with: ${again}\n`);
            process.exitCode = 130;
          }
        } else {
          const out = await runSweepLocal(plan, { resume: opts.resume, signal: sig.signal, quiet: opts.quiet, lock });
          reportChanged(out.changed);
          process.stderr.write(
            `${out.computed} job(s) run${out.changed.length ? ` (${out.changed.length} of them re-run for changed inputs)` : ''}, ${out.skipped} already finished, ${out.failed} failed, ${out.wallSeconds} s\n`,
          );
          if (out.aborted) {
            process.stderr.write(`stopped early; continue with: ${again}\n`);
            process.exitCode = 130;
          }
        }
        const report = await writeSweepReport(plan, metric);
        process.stdout.write(report.summaryText + '\n');
        process.stdout.write(`results: ${report.files.csv} (${report.rows.length} rows; also results.json, summary.txt)\n`);
        if (report.failed.length) {
          process.stderr.write(`WARNING: ${report.failed.length} job(s) failed (their rows hold the error; --resume retries them):\n`);
          for (const f of report.failed.slice(0, 10)) process.stderr.write(`  ${f.job}: ${f.error}\n`);
          process.exitCode ??= 1;
        }
        await maybeWriteJson(opts.json, { dir: plan.dir, summary: report.summary, rows: report.rows, pending: report.pending });
      } finally {
        sig.dispose();
        await lock.release();
      }
    });
}
