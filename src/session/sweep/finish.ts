/** The end of a sweep, local or queued: the results table from the run directories, and the summary. */
import { join } from 'node:path';
import type { MetricKey } from '../../evaluation/protocol.js';
import { writeFileAtomic } from '../../util/fs-atomic.js';
import type { SweepPlan } from './expand.js';
import { collectResults, writeResults, type CollectedResults } from './results.js';
import { formatSummary, summarise, type SweepSummary } from './summary.js';

export interface SweepReport extends CollectedResults {
  summary: SweepSummary;
  summaryText: string;
  files: { csv: string; json: string; summary: string };
}

export async function writeSweepReport(plan: SweepPlan, metric: MetricKey = plan.spec.metric): Promise<SweepReport> {
  const collected = await collectResults(plan);
  const summary = summarise(plan, collected.rows, metric);
  const summaryText = formatSummary(plan, summary);
  const files = await writeResults(plan, collected.rows, { metric, summary, pending: collected.pending });
  const summaryFile = join(plan.dir, 'summary.txt');
  await writeFileAtomic(summaryFile, summaryText + '\n');
  return { ...collected, summary, summaryText, files: { ...files, summary: summaryFile } };
}
