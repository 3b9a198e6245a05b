/**
 * A resumed sweep keeps a finished job only while it describes the files on disk: a dataset
 * image, mask or reference, or a model file, changed since the job finished makes its result
 * (and any "best" computed from it) an artefact of files that are gone. Each finished job is
 * asked what `iapas run --resume` asks of each image (run-inputs.ts); a job whose inputs changed
 * loses its result file, so the sweep runs it again, and its run directory's resume recomputes
 * just the images that changed and evaluates the run anew.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RunResources } from '../../pipeline/resources.js';
import { UserError } from '../../util/errors.js';
import { staleRunInputs } from '../run-inputs.js';
import type { SweepPlan } from './expand.js';
import { readJobResult, RESULT_FILE } from '../../run-directory/sweep-result.js';
import { jobData, sweepDatasetIndex } from './run-job.js';

export interface ChangedJob {
  job: string;
  /** The first input found changed (or why the job could not be checked). */
  reason: string;
}

/**
 * Finished jobs of the plan whose inputs changed; their results are removed so they run again.
 * `resources`: the sweep's own (models loaded here are then loaded once); else some are made here.
 */
export async function recheckFinishedJobs(plan: SweepPlan, resources?: RunResources): Promise<ChangedJob[]> {
  if (!resources) {
    const own = new RunResources();
    try {
      return await recheckFinishedJobs(plan, own);
    } finally {
      await own.dispose();
    }
  }
  const changed: ChangedJob[] = [];
  const hashes = new Map<string, Promise<string | null>>();
  for (const job of plan.jobs) {
    const result = await readJobResult(job.runDir);
    if (result?.status !== 'done') continue;
    const data = jobData(plan.dir, job);
    let reason: string | null;
    try {
      reason = await staleRunInputs({
        config: job.run.config,
        dataset: job.dataset.path,
        categories: job.dataset.categories,
        limit: job.dataset.limit,
        runDir: job.runDir,
        evaluated: Object.fromEntries((result.categories ?? []).map((c) => [c.category, c.n_images])),
        index: await sweepDatasetIndex(resources, data),
        resources,
        hashes,
      });
    } catch (err) {
      // A dataset that is gone or a model that cannot be loaded: the result cannot be vouched
      // for; running the job again records why.
      if (!(err instanceof UserError)) throw err;
      reason = `cannot check its inputs: ${err.message}`;
    }
    if (reason === null) continue;
    await rm(join(job.runDir, RESULT_FILE), { force: true });
    changed.push({ job: job.id, reason });
  }
  return changed;
}
