/**
 * Evaluation of a finished run: the maps in the run directory against the ground truth, through
 * the same evaluator as `iapas evaluate` (src/evaluation/evaluate.ts, docs/method.md §5), written
 * as metrics.json and metrics.csv in the run directory. Maps this call wrote are taken from
 * memory where the run kept them (the bytes on disk are the same float32 values), with the digest
 * taken as they were written; only the others are read from disk.
 *
 * With shared resources (a sweep), the prepared ground truth is reused, and so is a whole report
 * when another run had exactly the same maps (thresholds that kept the same boxes): a report is a
 * function of the protocol, the evaluated samples with their mask files, and the maps' bytes.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaseConfig } from '../config/schema.js';
import type { DatasetIndex } from '../datasets/types.js';
import { evaluateMaps } from '../evaluation/evaluate.js';
import { protocolOf } from '../evaluation/protocol.js';
import { type EvaluationReport, type SeenDataFlag, writeReport } from '../evaluation/metrics-files.js';
import type { RunResources } from '../pipeline/resources.js';
import type { CategoryJob } from '../pipeline/runner.js';
import { RunDir } from '../run-directory/run-dir.js';
import { bytesDigest, type WrittenMaps } from '../run-directory/written-maps.js';

export interface EvaluateRunOptions {
  quiet?: boolean;
  resources?: RunResources;
  /** What the run just wrote (runPipeline's `maps`). */
  maps?: WrittenMaps;
  /** The run scored a tuned decoder on its training images (sam.allow_seen_data): recorded in metrics.json. */
  seenData?: SeenDataFlag;
}

/** sha256 of a map file: the one taken when this call wrote it, else of the bytes on disk. */
async function mapDigest(dir: RunDir, category: string, relId: string, maps: WrittenMaps | undefined): Promise<string> {
  const known = maps?.digest(category, relId);
  if (known) return known;
  try {
    return bytesDigest([await readFile(join(dir.root, dir.mapRel(category, relId)))]);
  } catch {
    return '(no map)';
  }
}

/** Hash of everything a run's report depends on, the maps' bytes included (by their digests). */
async function reportKey(dir: RunDir, evaluated: DatasetIndex, config: BaseConfig, maps: WrittenMaps | undefined): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 2, protocol: protocolOf(config.eval), root: evaluated.root, layout: evaluated.layout, categories: evaluated.categories, problems: evaluated.problems }));
  for (const s of evaluated.samples) {
    const mask = s.maskPath ? await stat(s.maskPath).then((st) => [st.size, st.mtimeMs], () => null) : null;
    h.update(JSON.stringify([s.category, s.relId, s.split, s.label, s.imagePath, s.maskPath ?? null, mask, await mapDigest(dir, s.category, s.relId, maps)]));
  }
  return h.digest('hex');
}

/**
 * Only the jobs' test images are evaluated: few-shot presets take their references out of the
 * test set when a category has no train split, and those must not be scored.
 */
export async function evaluateRun(runDir: string, jobs: CategoryJob[], config: BaseConfig, index: DatasetIndex, opts: EvaluateRunOptions = {}): Promise<EvaluationReport> {
  const dir = new RunDir(runDir);
  const { resources } = opts;
  const evaluated: DatasetIndex = { ...index, categories: jobs.map((j) => j.category), samples: jobs.flatMap((j) => j.tests) };
  const evaluate = () => evaluateMapsOf(dir, evaluated, config, opts);
  let report: EvaluationReport;
  if (resources) {
    const key = await reportKey(dir, evaluated, config, opts.maps);
    // Kept as JSON text: each run gets its own copy.
    const text = await resources.memo(`run-report\0${key}`, async () => JSON.stringify(await evaluate()), (t) => t.length * 2);
    report = JSON.parse(text) as EvaluationReport;
  } else report = await evaluate();
  if (opts.seenData) report.seen_data = opts.seenData;
  await writeReport(report, dir.root);
  return report;
}

async function evaluateMapsOf(dir: RunDir, evaluated: DatasetIndex, config: BaseConfig, opts: EvaluateRunOptions): Promise<EvaluationReport> {
  const report = await evaluateMaps({
    dataset: evaluated,
    options: protocolOf(config.eval),
    loadMap: async (s) => {
      const kept = opts.maps?.map(s.category, s.relId);
      if (kept) return kept;
      try {
        return await dir.readMap(s.category, s.relId);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // reported as a missing map
        throw err;
      }
    },
    mapsLabel: 'maps/ (this run directory)',
    quiet: opts.quiet,
    groundTruth: opts.resources?.groundTruth,
  });
  delete report.created;
  return report;
}
