/**
 * metrics.json, in a run directory or an `iapas evaluate` output folder: the evaluation report
 * (its type and writer are evaluation/metrics-files.ts's). Every reader (report, api, compare) parses it
 * here. The schema checks what readers rely on and keeps the rest as written, so a file from
 * before a field existed (curves, map_range) still reads.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { EvaluationReport } from '../evaluation/metrics-files.js';
import { parseFile, readJson } from './json-file.js';

export const METRICS_FILE = 'metrics.json';

const metricsFileSchema = z
  .object({
    categories: z.array(z.object({ category: z.string() }).passthrough()),
    mean: z.object({}).passthrough(),
    options: z.object({ resolution: z.number() }).passthrough(),
    dataset: z.object({}).passthrough(),
  })
  .passthrough();

function what(issue: z.ZodIssue): string {
  const [top, i, field] = issue.path;
  if (issue.path.length === 0) return 'not an object';
  if (top === 'categories' && typeof i === 'number' && (field === 'category' || issue.path.length === 2)) return `category ${i + 1} has no name`;
  if (top === 'categories') return 'no categories list';
  if (top === 'mean') return 'no mean row';
  if (top === 'options') return 'no evaluation options';
  return `no ${String(top)}`;
}

export function parseMetricsFile(json: unknown, path: string): EvaluationReport {
  return parseFile(metricsFileSchema, json, path, 'an iapas metrics.json', what) as unknown as EvaluationReport;
}

/** The metrics.json at `path`, or null when there is none. */
export async function readMetricsFile(path: string): Promise<EvaluationReport | null> {
  const json = await readJson(path);
  return json === null ? null : parseMetricsFile(json, path);
}

/** The evaluation of a run directory, or null when it has none (not evaluated, or stopped before). */
export function readRunMetrics(runDir: string): Promise<EvaluationReport | null> {
  return readMetricsFile(join(runDir, METRICS_FILE));
}
