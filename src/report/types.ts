/** What the report reads: the runs (run directories or `iapas evaluate` outputs) as loaded. */
import type { EvaluationReport } from '../evaluation/metrics-files.js';
import type { RunProgress } from '../run-directory/progress.js';
import type { ImageRecord } from '../run-directory/records.js';
import type { ModelRecord } from '../run-directory/records.js';

/** The command line a run recorded (command.json, written by `iapas run` / `segment` / `demo`). */
export interface RecordedCommand {
  argv: string[];
  cwd: string | null;
}

/** One input of the report. */
export interface LoadedRun {
  /** Short unique id, safe in file names and CSS: r0, r1, ... */
  id: string;
  /** Display label: the folder name, made unique (or --labels). */
  label: string;
  dir: string;
  /** 'run': a run directory (config.json, image records, maps); 'evaluation': metrics.json only. */
  kind: 'run' | 'evaluation';
  metrics: EvaluationReport;
  metricsPath: string;
  config: Record<string, unknown> | null;
  models: ModelRecord[] | null;
  command: RecordedCommand | null;
  /** Image records per category (run directories only). */
  records: Map<string, ImageRecord[]>;
  /** Whether a run was still writing (or died writing) when the report read it. */
  progress: RunProgress | null;
}

