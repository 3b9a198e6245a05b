/**
 * Evaluation of a finished run: the maps in the run directory against the ground truth, through
 * the same evaluator as `iapas evaluate` (src/eval/evaluate.ts, docs/method.md §5), written as
 * metrics.json and metrics.csv in the run directory.
 */
import type { Config } from '../config/schema.js';
import type { DatasetIndex } from '../datasets/types.js';
import { evaluateMaps } from '../evaluation/evaluate.js';
import type { GroundTruthStore } from '../evaluation/ground-truth.js';
import { protocolOf } from '../evaluation/protocol.js';
import { type EvaluationReport, writeReport } from '../evaluation/report.js';
import { RunDir } from './run-dir.js';
import type { CategoryJob } from './runner.js';

/**
 * Only the jobs' test images are evaluated: few-shot presets take their references out of the
 * test set when a category has no train split, and those must not be scored.
 */
export async function evaluateRun(
  runDir: string,
  jobs: CategoryJob[],
  config: Config,
  index: DatasetIndex,
  quiet?: boolean,
  groundTruth?: GroundTruthStore,
): Promise<EvaluationReport> {
  const dir = new RunDir(runDir);
  const evaluated: DatasetIndex = { ...index, categories: jobs.map((j) => j.category), samples: jobs.flatMap((j) => j.tests) };
  const report = await evaluateMaps({
    dataset: evaluated,
    options: protocolOf(config.eval),
    loadMap: async (s) => {
      try {
        return await dir.readMap(s.category, s.relId);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // reported as a missing map
        throw err;
      }
    },
    mapsLabel: 'maps/ (this run directory)',
    quiet,
    groundTruth,
  });
  delete report.created;
  await writeReport(report, dir.root);
  return report;
}
