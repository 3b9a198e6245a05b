/**
 * `<run dir>/sweep-result.json`: the outcome of the sweep job that made the run directory,
 * written when the job ends (session/sweep/run-job.ts) and read by the sweep's table, its resume
 * and its queue. A job whose result says done is never computed again.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { CategoryMetrics } from '../evaluation/protocol.js';
import type { MeanRow } from '../evaluation/metrics-files.js';
import { writeJsonAtomic } from '../util/fs-atomic.js';
import type { CodeVersion } from '../util/version.js';
import { readJson } from './json-file.js';

export const RESULT_FILE = 'sweep-result.json';

export interface JobResult {
  job: string;
  run: string;
  dataset: string;
  status: 'done' | 'failed';
  /** Why the job failed (status failed). */
  error?: string;
  categories?: CategoryMetrics[];
  mean?: MeanRow;
  /** Wall time of the call that finished the job (build, run, evaluation), seconds. */
  wall_s: number;
  /** Model executions in that call, per model (cache hits not counted). */
  model_runs: Record<string, number>;
  /** Model-output cache hits and misses in that call, per namespace. */
  cache: Record<string, { hits: number; misses: number }>;
  /** Images left out for bad input (listed in the run directory's failed.json). */
  images_failed: number;
  /** The code that computed this result (absent in results written before it was recorded). */
  computed_by?: CodeVersion;
}

const jobResultSchema = z
  .object({
    job: z.string(),
    run: z.string(),
    dataset: z.string(),
    status: z.enum(['done', 'failed']),
    error: z.string().optional(),
    categories: z.array(z.object({ category: z.string(), n_images: z.number() }).passthrough()).optional(),
    mean: z.object({ n_images: z.number() }).passthrough().optional(),
    wall_s: z.number(),
    model_runs: z.record(z.number()),
    cache: z.record(z.object({ hits: z.number(), misses: z.number() })),
    images_failed: z.number(),
    computed_by: z.object({ version: z.string(), commit: z.string().optional() }).optional(),
  })
  .passthrough();

/**
 * The job result in a run directory, or undefined when there is none or it is not one (a file cut
 * short by a killed writer, or of another tool): then the job is not finished and runs again.
 */
export async function readJobResult(runDir: string): Promise<JobResult | undefined> {
  try {
    const r = jobResultSchema.safeParse(await readJson(join(runDir, RESULT_FILE)));
    return r.success ? (r.data as unknown as JobResult) : undefined;
  } catch {
    return undefined;
  }
}

export async function writeJobResult(runDir: string, result: JobResult): Promise<void> {
  await writeJsonAtomic(join(runDir, RESULT_FILE), result);
}
