/**
 * `iapas report`: an HTML report (opens from file://, no network) and paper figures comparing runs,
 * sweeps and `iapas evaluate` outputs (src/report/build.ts).
 */
import type { Command } from 'commander';
import { REPORT_DEFAULTS, reportSchema, type ReportSettings } from '../config/schema.js';
import { METRIC_KEYS, type MetricKey } from '../evaluation/protocol.js';
import { buildReport } from '../api/index.js';
import { UserError } from '../util/errors.js';
import { maybeWriteJson } from './json-output.js';

interface ReportFlags {
  out: string;
  labels?: string;
  title?: string;
  metrics?: string;
  figures?: string;
  dpi?: string;
  thumb?: string;
  full?: string;
  imageFormat?: string;
  maxImages?: string;
  gallery: boolean;
  recompute: boolean;
  sweep?: boolean;
  quiet?: boolean;
  json?: string;
}

const D = REPORT_DEFAULTS;

function wholeNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UserError(`${flag} expects a whole number, got '${v}'`);
  return n;
}

/** The flags as report settings, checked by the schema (one line per problem). */
function settingsOf(f: ReportFlags): Partial<ReportSettings> {
  const figures = f.figures?.split(',').map((x) => x.trim()).filter(Boolean);
  const raw = {
    title: f.title,
    thumb: wholeNumber('--thumb', f.thumb),
    full: wholeNumber('--full', f.full),
    dpi: wholeNumber('--dpi', f.dpi),
    max_images: wholeNumber('--max-images', f.maxImages),
    image_format: f.imageFormat,
    figures,
    recompute: f.recompute,
  };
  const parsed = reportSchema.partial().safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  if (!parsed.success) {
    const flag = (k: string) => `--${k.replace(/_/g, '-')}`;
    throw new UserError(parsed.error.issues.map((i) => `${flag(String(i.path[0]))}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('an HTML report comparing runs, sweeps and evaluate outputs (metrics table, curves, sweep charts, gallery, provenance) that opens from file:// with no network; optionally paper figures (SVG/PNG)')
    .argument('<inputs...>', 'run directories, `iapas evaluate` output folders or metrics.json files, sweep folders (with results.json), or folders holding runs')
    .requiredOption('--out <dir>', 'where index.html, vendor/, g/ and figures/ go (an empty or new folder, or an earlier report)')
    .option('--labels <a,b>', 'run labels, in input order (default: the folder names)')
    .option('--title <text>', `page title (default '${D.title}')`)
    .option('--metrics <list>', `metrics in the table and sweep charts, from ${METRIC_KEYS.join(', ')} (default: all)`)
    .option('--figures <formats>', 'also write paper figures: svg, png or svg,png (figures/<name>.svg|png)')
    .option('--dpi <n>', `resolution of PNG figures (default ${D.dpi})`)
    .option('--thumb <px>', `longer side of gallery thumbnails (default ${D.thumb})`)
    .option('--full <px>', `longer side of the picture a click shows (default ${D.full})`)
    .option('--image-format <f>', `gallery pictures: webp or jpeg (default ${D.image_format})`)
    .option('--max-images <n>', 'at most n images per category in the gallery (default: all)')
    .option('--no-gallery', 'no gallery (table, curves, sweeps and provenance only)')
    .option('--no-recompute', 'do not recompute curves missing from an older metrics.json (from the run directory\'s maps)')
    .option('--sweep', 'chart the runs as one sweep when no results.json is given (varied keys: the config keys that differ)')
    .option('--quiet', 'no progress output')
    .option('--json <file>', 'write what was written (files, runs, notes) as JSON')
    .action(async (inputs: string[], f: ReportFlags) => {
      const metrics = f.metrics?.split(',').map((m) => m.trim()).filter(Boolean) as MetricKey[] | undefined;
      const unknown = (metrics ?? []).filter((m) => !METRIC_KEYS.includes(m));
      if (unknown.length) throw new UserError(`unknown metric ${unknown.join(', ')}; choose from ${METRIC_KEYS.join(', ')}`);
      const t0 = Date.now();
      const r = await buildReport({
        inputs,
        out: f.out,
        labels: f.labels?.split(',').map((s) => s.trim()),
        metrics,
        settings: settingsOf(f),
        gallery: f.gallery,
        sweep: f.sweep,
        log: f.quiet ? undefined : (m) => process.stderr.write(`${m}\n`),
      });
      for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
      process.stdout.write(`${r.index} (${r.runs.length} run(s), ${r.sweeps.length} sweep(s), ${r.figures.length} figure file(s), ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      await maybeWriteJson(f.json, {
        index: r.index,
        runs: r.runs.map((x) => ({ id: x.id, label: x.label, dir: x.dir, kind: x.kind })),
        sweeps: r.sweeps.map((x) => ({ source: x.source, varied: x.varied, rows: x.rows.length })),
        figures: r.figures,
        notes: r.notes,
      });
    });
}
