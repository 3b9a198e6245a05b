/**
 * A run directory as a reader sees it (the format is run-directory/'s): its config, the
 * evaluation if one was written, the model files it used, one record per completed image, whether
 * a run is still writing it, and each image's map on demand.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EvaluationReport } from '../evaluation/metrics-files.js';
import { RunDir } from '../run-directory/run-dir.js';
import { readJson } from '../run-directory/json-file.js';
import { readRunMetrics } from '../run-directory/metrics-file.js';
import { runProgress, type RunProgress } from '../run-directory/progress.js';
import type { ImageRecord, ModelRecord } from '../run-directory/records.js';
import { listImageRecords } from '../run-directory/list-records.js';
import { UserError } from '../util/errors.js';

export interface RunDirectory {
  dir: string;
  config: Record<string, unknown>;
  /** metrics.json, or null when the run has not been evaluated (or was stopped before it). */
  metrics: EvaluationReport | null;
  models: ModelRecord[];
  /** The completed images, by category then relId. */
  records: ImageRecord[];
  /** Set while a run holds (or died holding) the directory's lock. */
  progress: RunProgress | null;
  /** The final anomaly map of an image (float32, row-major, the image's size). */
  readMap(record: ImageRecord): Promise<{ data: Float32Array; width: number; height: number }>;
}

export async function readRunDirectory(dir: string): Promise<RunDirectory> {
  const root = resolve(dir);
  if (!(await stat(root).then((s) => s.isDirectory(), () => false))) throw new UserError(`run directory ${root} does not exist`);
  const runDir = new RunDir(root);
  const config = (await readJson(runDir.configPath)) as Record<string, unknown> | null;
  if (!config) throw new UserError(`${root}: no config.json (not an iapas run directory)`);
  const metrics = await readRunMetrics(root);
  const records = await listImageRecords(root);
  return {
    dir: root,
    config,
    metrics,
    models: ((await readJson(join(root, 'models.json'))) as ModelRecord[] | null) ?? [],
    records,
    progress: await runProgress(root, records, metrics),
    readMap: (rec) => runDir.readMap(rec.category, rec.relId),
  };
}
