import type { Command } from 'commander';
import { basename, join, resolve } from 'node:path';
import { compareMetrics, comparisonCsv, formatComparison, type RunMetricsInput } from '../report/comparison-table.js';
import { writeComparisonFigures } from '../report/comparison-figures.js';
import { METRIC_KEYS, type MetricKey } from '../evaluation/protocol.js';
import { readRunMetrics } from '../run-directory/metrics-file.js';
import { seenDataNote } from '../models/sam/seen-data.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { maybeWriteJson } from './json-output.js';
import { checkOutputs } from '../util/writable.js';

async function readRun(dir: string, label: string): Promise<RunMetricsInput> {
  const report = await readRunMetrics(dir);
  if (!report) throw new UserError(`${dir}: no metrics.json (is it a finished \`iapas run\` run directory, or an \`iapas evaluate\` output folder?)`);
  return { label, report };
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('compare finished runs: metrics side by side (table, CSV) and per-category figures (image with ground truth, each run\'s map over it); `iapas report` makes the HTML report')
    .argument('<runs...>', 'run directories (or iapas evaluate output folders) holding metrics.json')
    .option('--labels <a,b>', 'column labels (default: the folder names)')
    .option('--metrics <list>', `metrics to show, from ${METRIC_KEYS.join(', ')}`, 'pixel_ap,pixel_f1_max')
    .option('--out <dir>', 'write compare.csv and per-category figures (<category>.png) here')
    .option('--images <n>', 'images per category in each figure (anomalous first, then where the runs disagree most); 0 = no figures', '4')
    .option('--json <file>', 'write the comparison as JSON')
    .action(async (runs: string[], opts: { labels?: string; metrics: string; out?: string; images: string; json?: string }) => {
      await checkOutputs([
        ['--out', opts.out, 'dir'],
        ['--json', opts.json, 'file'],
      ]);
      const labels = opts.labels ? opts.labels.split(',') : runs.map((r) => basename(resolve(r)));
      if (labels.length !== runs.length) throw new UserError(`--labels names ${labels.length} runs, ${runs.length} given`);
      const metrics = opts.metrics.split(',').map((m) => m.trim()) as MetricKey[];
      const unknown = metrics.filter((m) => !METRIC_KEYS.includes(m));
      if (unknown.length) throw new UserError(`unknown metric ${unknown.join(', ')}; choose from ${METRIC_KEYS.join(', ')}`);
      const perCategory = Number(opts.images);
      if (!(Number.isInteger(perCategory) && perCategory >= 0)) throw new UserError(`--images expects a whole number, got '${opts.images}'`);
      const inputs = await Promise.all(runs.map((r, i) => readRun(r, labels[i])));
      const rows = compareMetrics(inputs, metrics);
      process.stdout.write(`${formatComparison(inputs, metrics, rows)}\n(values in %)\n`);
      const notes = inputs.flatMap((r) => (r.report.seen_data ? [seenDataNote(r.label, r.report.seen_data)] : []));
      for (const n of notes) process.stdout.write(`note: ${n}\n`);
      let figures: string[] = [];
      if (opts.out) {
        await writeFileAtomic(join(opts.out, 'compare.csv'), comparisonCsv(inputs, metrics, rows));
        if (perCategory > 0) figures = await writeComparisonFigures(inputs.map((r, i) => ({ dir: runs[i], report: r.report })), opts.out, perCategory);
        process.stdout.write(`wrote ${join(opts.out, 'compare.csv')}${figures.length ? ` and ${figures.length} figure(s) (columns: image with ground truth, then ${labels.join(', ')}: heat map, mask at the F1-max threshold, prompts)` : ''}\n`);
      }
      await maybeWriteJson(opts.json, { runs: inputs.map((r, i) => ({ label: r.label, dir: runs[i], options: r.report.options, ...(r.report.seen_data ? { seen_data: r.report.seen_data } : {}) })), metrics, rows, figures, notes });
    });
}
