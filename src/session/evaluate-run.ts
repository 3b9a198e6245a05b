/**
 * Evaluation of a finished run: the maps in the run directory against the ground truth, through
 * the same evaluator as `iapas evaluate` (src/evaluation/evaluate.ts, docs/method.md §5), written
 * as metrics.json and metrics.csv in the run directory.
 *
 * With shared resources (a sweep), the prepared ground truth is reused, and so is a whole report
 * when another run had exactly the same maps (thresholds that kept the same boxes): a report is a
 * function of the protocol, the evaluated samples with their mask files, and the maps' bytes.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { DatasetIndex } from '../datasets/types.js';
import { evaluateMaps } from '../evaluation/evaluate.js';
import { protocolOf } from '../evaluation/protocol.js';
import { type EvaluationReport, writeReport } from '../evaluation/report.js';
import type { RunResources } from '../pipeline/resources.js';
import { RunDir } from '../run-directory/run-dir.js';
import type { CategoryJob } from '../pipeline/runner.js';

/** Hash of everything a run's report depends on, map bytes included. */
async function reportKey(dir: RunDir, evaluated: DatasetIndex, config: Config): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, protocol: protocolOf(config.eval), root: evaluated.root, layout: evaluated.layout, categories: evaluated.categories, problems: evaluated.problems }));
  for (const s of evaluated.samples) {
    const mask = s.maskPath ? await stat(s.maskPath).then((st) => [st.size, st.mtimeMs], () => null) : null;
    h.update(JSON.stringify([s.category, s.relId, s.split, s.label, s.imagePath, s.maskPath ?? null, mask]));
    try {
      h.update(await readFile(join(dir.root, dir.mapRel(s.category, s.relId))));
    } catch {
      h.update('(no map)');
    }
  }
  return h.digest('hex');
}

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
  resources?: RunResources,
): Promise<EvaluationReport> {
  const dir = new RunDir(runDir);
  const evaluated: DatasetIndex = { ...index, categories: jobs.map((j) => j.category), samples: jobs.flatMap((j) => j.tests) };
  const evaluate = () => evaluateMapsOf(dir, evaluated, config, quiet, resources);
  let report: EvaluationReport;
  if (resources) {
    const key = await reportKey(dir, evaluated, config);
    // Kept as JSON text: each run gets its own copy.
    const text = await resources.memo(`run-report\0${key}`, async () => JSON.stringify(await evaluate()), (t) => t.length * 2);
    report = JSON.parse(text) as EvaluationReport;
  } else report = await evaluate();
  await writeReport(report, dir.root);
  return report;
}

async function evaluateMapsOf(dir: RunDir, evaluated: DatasetIndex, config: Config, quiet: boolean | undefined, resources: RunResources | undefined): Promise<EvaluationReport> {
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
    groundTruth: resources?.groundTruth,
  });
  delete report.created;
  return report;
}
