import type { Command } from 'commander';
import { resolve } from 'node:path';
import { parseSetFlag } from '../config/load.js';
import { defaultModelsDir } from '../models/weights/manifest.js';
import { flattenConfig } from '../util/flatten.js';
import { parseAllowJobKeys, realRoots, WORKER_KEYS, workerValuesOf } from '../session/sweep/job-admission.js';
import { readQueueSecret, SECRET_ENV } from '../session/sweep/job-signature.js';
import { DEFAULT_LOCK_DURATION_MS, runWorker } from '../session/sweep/queue.js';
import { UserError } from '../util/errors.js';
import { positive } from './config-flags.js';

const MIN_LOCK_DURATION_S = 10;

interface WorkerFlags {
  queue: string;
  concurrency?: string;
  cacheDir?: string;
  modelsDir?: string;
  allowRoot?: string[];
  allowJobKeys?: string;
  set?: string[];
  secretFile?: string;
  lockDuration?: string;
  stalledInterval?: string;
  exitWhenIdle?: string;
  quiet?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('worker')
    .description('process `iapas sweep --queue` jobs from BullMQ at redis://host:port until stopped (Ctrl-C finishes the jobs in hand; twice quits at once, and another worker takes them over)')
    .requiredOption('--queue <url>', 'the Redis the sweeps enqueue on, redis://[:password@]host:port[/db] (rediss:// for TLS)')
    .option('--concurrency <n>', 'jobs at once in this process, each with its own models in memory (default 1)')
    .option('--allow-root <dir>', 'jobs may write (run and sweep directories, model-output cache) only under these directories (repeatable; default: the working directory)', collect)
    .option('--cache-dir <dir>', "use this model-output cache instead of the jobs' (the same shared cache, as this machine mounts it)")
    .option('--models-dir <dir>', 'models directory (jobs never choose it; default $IAPAS_MODELS or ./models)')
    .option('--set <key=value>', `this worker's value of a key jobs may not choose (${WORKER_KEYS.map((k) => k.key).join(', ')}); repeatable`, collect)
    .option('--allow-job-keys <keys>', 'comma-separated keys of the --set list (or models_dir, cache_dir) that jobs may choose after all')
    .option('--secret-file <file>', `run only jobs signed with the secret in this file (default: $${SECRET_ENV} when set)`)
    .option('--lock-duration <s>', `seconds without lock renewal after which a job counts as stalled and is retried by another worker (default ${DEFAULT_LOCK_DURATION_MS / 1000}, at least ${MIN_LOCK_DURATION_S})`)
    .option('--stalled-interval <s>', 'how often this worker looks for stalled jobs, seconds (default 30)')
    .option('--exit-when-idle <s>', 'exit after s seconds without a job')
    .option('--quiet', 'no per-image progress')
    .action(async (opts: WorkerFlags) => {
      const concurrency = positive('concurrency', opts.concurrency, true) ?? 1;
      const lock = positive('lock-duration', opts.lockDuration, false);
      // BullMQ renews a job's lock every lockDuration / 2 from the event loop, which a job blocks
      // for up to ~3 s (measured: the first image of a few-shot job on a loaded 2-core machine).
      if (lock !== undefined && lock < MIN_LOCK_DURATION_S) {
        throw new UserError(`--lock-duration ${lock}: at least ${MIN_LOCK_DURATION_S} s (a job blocks the event loop that renews its lock for up to a few seconds)`);
      }
      const stalled = positive('stalled-interval', opts.stalledInterval, false);
      const idle = positive('exit-when-idle', opts.exitWhenIdle, false);
      const workerValues: Record<string, unknown> = {};
      for (const expr of opts.set ?? []) Object.assign(workerValues, flattenConfig(parseSetFlag(expr)));
      const policy = {
        roots: await realRoots(opts.allowRoot?.length ? opts.allowRoot : [process.cwd()]),
        secret: await readQueueSecret(opts.secretFile),
        allowJobKeys: parseAllowJobKeys(opts.allowJobKeys),
        workerValues: workerValuesOf(workerValues),
        modelsDir: opts.modelsDir ? resolve(opts.modelsDir) : defaultModelsDir(),
        cacheDir: opts.cacheDir ? resolve(opts.cacheDir) : undefined,
      };
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
          policy,
          lockDurationMs: lock === undefined ? undefined : lock * 1000,
          stalledIntervalMs: stalled === undefined ? undefined : stalled * 1000,
          idleExitS: idle,
          signal: ctl.signal,
          quiet: opts.quiet,
        });
        process.stderr.write(
          `worker stopped: ${out.completed} job(s) done, ${out.failed} failed or refused, ${out.putBack} put back; longest event-loop block during a job ${out.maxEventLoopBlockMs} ms\n`,
        );
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
