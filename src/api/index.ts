/**
 * The toolkit as a library: `import { loadPreset, runOnDataset, ... } from 'iapas'`. The command
 * line is built on these same functions; everything else under src/ is internal and may move.
 *
 *   const config = await loadPreset('fewshot', ['references.k=2']);
 *   const { runDir, metrics } = await runOnDataset({ config, dataset: 'data/mvtec_ad', categories: ['bottle'] });
 *   const run = await readRunDirectory(runDir);              // config, metrics, records, maps
 *   const again = await evaluateMapsFolder({ dataset: await loadDataset('data/mvtec_ad'), mapsDir: `${runDir}/maps` });
 */
export { loadConfig, loadPreset, type ConfigRequest } from './config.js';
export { readRunDirectory, type RunDirectory } from './run-directory.js';
export { CONFIG_DEFAULTS, PRESETS, PRESET_NAMES, presetInfo, type Config } from '../methods/registry.js';
export type { PresetInfo } from '../pipeline/method.js';
export { loadDataset } from '../datasets/index.js';
export type { DatasetIndex, Sample } from '../datasets/types.js';
export { runOnDataset, type DatasetRunRequest, type DatasetRunResult } from '../session/run-dataset.js';
export { runOnImages, type ImagesRequest } from '../session/run-images.js';
export { evaluateMaps, evaluateMapsFolder, type EvaluateFolderParams, type EvaluateMapsParams } from '../evaluation/evaluate.js';
export { formatReportTable, type EvaluationReport } from '../evaluation/metrics-files.js';
export type { ImageRecord } from '../run-directory/records.js';
export type { RunSummary } from '../pipeline/runner.js';
export type { RunProgress } from '../run-directory/progress.js';
export { buildReport, type ReportRequest, type ReportResult } from '../report/build.js';
export { UserError } from '../util/errors.js';
