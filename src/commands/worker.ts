import type { Command } from 'commander';
import { resolve } from 'node:path';
import { runWorker } from '../session/sweep/queue.js';
import { positive } from './config-flags.js';

interface WorkerFlags {
  queue: string;
  concurrency?: string;
  cacheDir?: string;
  modelsDir?: string;
  lockDuration?: string;
  stalledInterval?: string;
  exitWhenIdle?: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('process `iapas sweep --queue` jobs from BullMQ at redis://host:port until stopped (Ctrl-C finishes the jobs in hand; twice quits at once, and another worker takes them over)')
    .requiredOption('--queue <url>', 'the Redis the sweeps enqueue on, redis://host:port[/db]')
    .option('--concurrency <n>', 'jobs at once in this process, each with its own models in memory (default 1)')
    .option('--cache-dir <dir>', "use this model-output cache instead of the jobs' (the same shared cache, as this machine mounts it)")
    .option('--models-dir <dir>', "use this models directory instead of the jobs'")
    .option('--lock-duration <s>', 'seconds without lock renewal after which a job counts as stalled and is retried by another worker (default 30)')
    .option('--stalled-interval <s>', 'how often this worker looks for stalled jobs, seconds (default 30)')
    .option('--exit-when-idle <s>', 'exit after s seconds without a job')
    .option('--quiet', 'no per-image progress')
    .action(async (opts: WorkerFlags) => {
      const concurrency = positive('concurrency', opts.concurrency, true) ?? 1;
      const lock = positive('lock-duration', opts.lockDuration, false);
      const stalled = positive('stalled-interval', opts.stalledInterval, false);
      const idle = positive('exit-when-idle', opts.exitWhenIdle, false);
      const ctl = new AbortController();
      let stops = 0;
      const onSignal = () => {
        if (++stops > 1) process.exit(130);
        process.stderr.write('\nstopping: finishing the jobs in hand (again to quit now; another worker then takes them over)\n');
        ctl.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const out = await runWorker({
          url: opts.queue,
          concurrency,
          cacheDir: opts.cacheDir ? resolve(opts.cacheDir) : undefined,
          modelsDir: opts.modelsDir ? resolve(opts.modelsDir) : undefined,
          lockDurationMs: lock === undefined ? undefined : lock * 1000,
          stalledIntervalMs: stalled === undefined ? undefined : stalled * 1000,
          idleExitS: idle,
          signal: ctl.signal,
          quiet: opts.quiet,
        });
        process.stderr.write(`worker stopped: ${out.completed} job(s) done, ${out.failed} failed\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
