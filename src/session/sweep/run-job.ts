/**
 * One job of a sweep (a run on a dataset), the same whether the sweep runs it in its own process
 * or a queue worker does: `iapas run` into the job's run directory, always resuming (a job
 * retried after its worker died continues where that worker stopped), then its outcome in
 * `<run dir>/sweep-result.json` (run-directory/sweep-result.ts).
 */
import { loadDataset } from '../../datasets/index.js';
import type { DatasetIndex } from '../../datasets/types.js';
import type { RunResources } from '../../pipeline/resources.js';
import type { ImageRecord } from '../../run-directory/records.js';
import { RunDirLockedError } from '../../run-directory/lock.js';
import { readJobResult, writeJobResult, type JobResult } from '../../run-directory/sweep-result.js';
import { UserError } from '../../util/errors.js';
import { codeVersion, type CodeVersion } from '../../util/version.js';
import { runOnDataset } from '../run-dataset.js';
import type { SweepJob } from './expand.js';
import type { SweepDataset } from './spec.js';
import { type Config } from '../../methods/registry.js';

/** What a job needs, as plain JSON (a queue job's data). */
export interface SweepJobData {
  sweepDir: string;
  job: string;
  run: string;
  dataset: SweepDataset;
  runDir: string;
  config: Config;
  /** The submitter's code: a queue worker of other code leaves the job to a matching one. */
  version?: CodeVersion;
  /** HMAC of the rest under the queue secret (job-signature.ts), when the submitter has one. */
  signature?: string;
}


export function jobData(sweepDir: string, job: SweepJob): SweepJobData {
  return { sweepDir, job: job.id, run: job.run.id, dataset: job.dataset, runDir: job.runDir, config: job.run.config, version: codeVersion() };
}

/** A dataset's index, read once per dataset and sweep in this process. */
export function sweepDatasetIndex(resources: RunResources, data: Pick<SweepJobData, 'sweepDir' | 'dataset'>): Promise<DatasetIndex> {
  return resources.memo(`dataset-index\0${data.sweepDir}\0${data.dataset.path}`, () => loadDataset(data.dataset.path), (ix) => 1024 + ix.samples.length * 512);
}

export async function writeJobFailure(data: SweepJobData, error: string, wallS = 0): Promise<JobResult> {
  const result: JobResult = { job: data.job, run: data.run, dataset: data.dataset.label, status: 'failed', error, wall_s: wallS, model_runs: {}, cache: {}, images_failed: 0, computed_by: codeVersion() };
  await writeJobResult(data.runDir, result);
  return result;
}

export interface RunJobOptions {
  resources?: RunResources;
  signal?: AbortSignal;
  quiet?: boolean;
  onImage?: (rec: ImageRecord, computed: boolean) => void | Promise<void>;
  /** Who holds the run directory's lock while the job runs (default `iapas sweep <job>`). */
  command?: string;
}

/**
 * Runs a job to its end. Returns its result (also written to the run directory), or undefined
 * when it was stopped by the signal (its finished images stay on disk). A UserError (bad dataset
 * path, invalid combination of values, missing model) is the job's result; anything else throws,
 * and so does a run directory locked by another live run (the job is not at fault: try later).
 */
export async function runJob(data: SweepJobData, opts: RunJobOptions = {}): Promise<JobResult | undefined> {
  const previous = await readJobResult(data.runDir);
  if (previous?.status === 'done') return previous;
  const t0 = performance.now();
  const seconds = () => +((performance.now() - t0) / 1000).toFixed(2);
  try {
    const { resources } = opts;
    const index = resources ? await sweepDatasetIndex(resources, data) : undefined;
    const res = await runOnDataset({
      config: data.config,
      dataset: data.dataset.path,
      categories: data.dataset.categories,
      limit: data.dataset.limit,
      runDir: data.runDir,
      resume: true,
      signal: opts.signal,
      quiet: opts.quiet,
      onImage: opts.onImage,
      index,
      resources,
      command: opts.command ?? `iapas sweep ${data.job}`,
    });
    if (res.run.aborted || !res.metrics) return undefined;
    const result: JobResult = {
      job: data.job,
      run: data.run,
      dataset: data.dataset.label,
      status: 'done',
      categories: res.metrics.categories,
      mean: res.metrics.mean,
      wall_s: seconds(),
      model_runs: res.run.modelRuns,
      cache: res.run.cache,
      images_failed: res.run.failed.length,
      computed_by: codeVersion(),
    };
    await writeJobResult(data.runDir, result);
    return result;
  } catch (err) {
    if (err instanceof UserError && !(err instanceof RunDirLockedError) && !opts.signal?.aborted) return writeJobFailure(data, err.message, seconds());
    throw err;
  }
}
