/**
 * `iapas evaluate`: scores anomaly maps produced by anything (this tool or another) against a
 * dataset's ground truth with the protocol of src/evaluation/protocol.ts.
 */
import type { Command } from 'commander';
import { evaluateMapsFolder, loadDataset } from '../api/index.js';
import { DEFAULT_PROTOCOL, type NormalImages } from '../evaluation/protocol.js';
import { formatReportTable, writeReport } from '../evaluation/metrics-files.js';
import { parseAuproMode } from '../metrics/aupro.js';
import { UserError } from '../util/errors.js';
import { checkOutputs } from '../util/writable.js';
import { maybeWriteJson } from './json-output.js';
import { printEvaluationWarnings } from './run-output.js';

interface EvaluateFlags {
  dataset: string;
  maps: string;
  categories?: string;
  resolution: string;
  normalize: boolean;
  normalImages: string;
  datasetName?: string;
  aupro: string;
  fprLimit: string;
  out?: string;
  json?: string;
  strict?: boolean;
  quiet?: boolean;
  maxMemory?: string;
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('evaluate anomaly maps (<maps>/<category>/<relId>.npy|png) against a dataset: pixel AUROC/AP/F1-max/AUPRO, image AUROC/AP/F1-max')
    .requiredOption('--dataset <root>', 'dataset root (layout detected)')
    .requiredOption('--maps <dir>', 'folder of maps named <category>/<path of the test image relative to its category, without extension>.npy or .png')
    .option('--categories <a,b>', 'only these categories')
    .option('--resolution <n>', 'maps (bicubic) and masks (nearest) are resized to n x n before pooling', String(DEFAULT_PROTOCOL.resolution))
    .option('--no-normalize', 'do not min-max normalise the maps per category')
    .option('--normal-images <mode>', 'include | skip | reference (reference: kept for MVTec AD only, as the reference code)', DEFAULT_PROTOCOL.normalImages)
    .option('--dataset-name <name>', "name deciding --normal-images reference (default: the dataset folder's name)")
    .option('--aupro <definition>', 'grid (200 thresholds, SAA+/APRIL-GAN code) | exact (every threshold, MVTec AD / anomalib style)', DEFAULT_PROTOCOL.aupro)
    .option('--fpr-limit <x>', 'AUPRO false-positive-rate limit', String(DEFAULT_PROTOCOL.fprLimit))
    .option('--out <dir>', 'write metrics.csv and metrics.json here (default: the maps folder)')
    .option('--max-memory <GiB>', 'most memory one category may take to evaluate (default 3/4 of physical memory); see the README for the peak per pixel')
    .option('--strict', 'exit with an error when maps are missing, extra, unreadable or of the wrong size')
    .option('--quiet', 'no progress output')
    .option('--json <file>', 'also write the full report as JSON to this file')
    .action(async (opts: EvaluateFlags) => {
      const resolution = Number(opts.resolution);
      if (!Number.isInteger(resolution) || resolution <= 0) throw new UserError(`--resolution expects a positive integer, got '${opts.resolution}'`);
      if (!['include', 'skip', 'reference'].includes(opts.normalImages)) {
        throw new UserError(`--normal-images expects include, skip or reference, got '${opts.normalImages}'`);
      }
      const fprLimit = Number(opts.fprLimit);
      if (!(fprLimit > 0 && fprLimit <= 1)) throw new UserError(`--fpr-limit expects a number in (0, 1], got '${opts.fprLimit}'`);
      let aupro;
      try {
        aupro = parseAuproMode(opts.aupro);
      } catch (err) {
        throw new UserError(`--aupro: ${(err as Error).message}`);
      }
      const maxMemory = opts.maxMemory === undefined ? undefined : Number(opts.maxMemory);
      if (maxMemory !== undefined && !(maxMemory > 0)) throw new UserError(`--max-memory expects a positive number of GiB, got '${opts.maxMemory}'`);
      await checkOutputs([
        ['--out', opts.out ?? opts.maps, 'dir'],
        ['--json', opts.json, 'file'],
      ]);
      const categories = opts.categories?.split(',').map((c) => c.trim()).filter(Boolean);
      const dataset = await loadDataset(opts.dataset, { categories });
      const report = await evaluateMapsFolder({
        dataset,
        mapsDir: opts.maps,
        categories,
        datasetName: opts.datasetName,
        quiet: opts.quiet,
        options: {
          resolution,
          normalize: opts.normalize,
          normalImages: opts.normalImages as NormalImages,
          aupro,
          fprLimit,
          memoryLimit: maxMemory === undefined ? undefined : maxMemory * 2 ** 30,
        },
      });
      const files = await writeReport(report, opts.out ?? opts.maps);
      await maybeWriteJson(opts.json, report);
      process.stdout.write(formatReportTable(report) + '\n');
      const pr = report.problems;
      printEvaluationWarnings(report);
      process.stderr.write(`wrote ${files.csv} and ${files.json}\n`);
      if (opts.strict && (pr.missing_maps.length || pr.extra_maps.length || pr.size_mismatch.length || pr.unreadable.length)) {
        throw new UserError('--strict: missing, extra, unreadable or mis-sized maps (see the warnings above)');
      }
    });
}
