/**
 * A sweep directory's `results.json`: the sweep's table (its columns are described where the rows
 * are made, session/sweep/results.ts) with what names them, written by `iapas sweep` and read by
 * `iapas report` with this one schema:
 *
 *   { "tool": "iapas sweep", "sweep": <name>, "metric": <what the summary ranks by>,
 *     "varied": [<dotted config keys>], "metrics": [<metric names>], "columns": [...],
 *     "runs": [{ "id", "assignment", "run_dirs": { <dataset>: <run dir> } }],
 *     "rows": [{ "run", <varied keys>, "dataset", "category", "n_images", <metrics>, "wall_s",
 *                "model_runs", "cache_hits", "error", "run_dir" }],
 *     "summary": ..., "pending": [<job ids>] }
 *
 * Files from before rows named their run directory have no `run_dir`; they still read.
 */
import { z } from 'zod';
import { writeJsonAtomic } from '../util/fs-atomic.js';
import { parseFile, readJson } from './json-file.js';
import { UserError } from '../util/errors.js';

export const RESULTS_FILE = 'results.json';

type ResultValue = string | number | boolean | null;
export type ResultRow = Record<string, ResultValue>;

const resultValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const sweepResultsFileSchema = z
  .object({
    tool: z.literal('iapas sweep'),
    sweep: z.string(),
    metric: z.string(),
    varied: z.array(z.string()),
    metrics: z.array(z.string()),
    columns: z.array(z.string()),
    runs: z.array(z.object({ id: z.string(), assignment: z.record(z.unknown()), run_dirs: z.record(z.string()) }).passthrough()),
    rows: z.array(z.object({ run: z.string(), dataset: z.string(), category: z.string(), run_dir: z.string().nullable().optional() }).catchall(resultValue)),
    summary: z.unknown().optional(),
    pending: z.array(z.string()).optional(),
  })
  .passthrough();

export type SweepResultsFile = z.output<typeof sweepResultsFileSchema>;

export function parseSweepResultsFile(json: unknown, path: string): SweepResultsFile {
  return parseFile(sweepResultsFileSchema, json, path, "an iapas sweep's results.json");
}

export async function readSweepResultsFile(path: string): Promise<SweepResultsFile> {
  const json = await readJson(path);
  if (json === null) throw new UserError(`cannot read ${path}: no such file`);
  return parseSweepResultsFile(json, path);
}

export async function writeSweepResultsFile(path: string, file: SweepResultsFile): Promise<void> {
  await writeJsonAtomic(path, file);
}
