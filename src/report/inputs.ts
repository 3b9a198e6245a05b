/**
 * The report's inputs, found and read with the run directory's own readers (files only; nothing
 * is computed here):
 *  - a run directory: metrics.json, config.json, models.json, command.json, image records, maps;
 *  - an `iapas evaluate` output folder, or a metrics.json file: the metrics only (no gallery);
 *  - a sweep folder, recognised by its results.json (run-directory/sweep-results-file.ts): the results, and as runs
 *    every folder with a metrics.json inside it (two levels down) or named by a row's `run_dir`;
 *  - any other folder: its sub-folders that hold a metrics.json.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { readJson } from '../run-directory/json-file.js';
import { METRICS_FILE, parseMetricsFile } from '../run-directory/metrics-file.js';
import { runProgress, type RunProgress } from '../run-directory/progress.js';
import type { ModelRecord } from '../run-directory/records.js';
import { listImageRecords, recordsByCategory } from '../run-directory/list-records.js';
import { RESULTS_FILE } from '../run-directory/sweep-results-file.js';
import { UserError } from '../util/errors.js';
import { readSweepResults, type SweepResults } from './sweep-results.js';
import type { LoadedRun, RecordedCommand } from './types.js';

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

export interface FoundRun {
  dir: string;
  metricsPath: string;
}

export interface FoundInputs {
  runs: FoundRun[];
  sweeps: SweepResults[];
}

/** Folders under `dir` (itself excluded, `depth` levels down) that hold a metrics.json, sorted. */
async function runsUnder(dir: string, depth: number): Promise<FoundRun[]> {
  const out: FoundRun[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const name of entries) {
    const sub = join(dir, name);
    if (await isFile(join(sub, METRICS_FILE))) out.push({ dir: sub, metricsPath: join(sub, METRICS_FILE) });
    else if (depth > 1) out.push(...(await runsUnder(sub, depth - 1)));
  }
  return out;
}

/** Resolves the command-line inputs to runs and sweep results. */
export async function discoverInputs(inputs: string[]): Promise<FoundInputs> {
  const runs: FoundRun[] = [];
  const sweeps: SweepResults[] = [];
  const add = (found: FoundRun[]) => {
    for (const f of found) if (!runs.some((r) => r.metricsPath === f.metricsPath)) runs.push(f);
  };
  const addSweep = async (file: string) => {
    const s = await readSweepResults(file);
    sweeps.push(s);
    const root = dirname(file);
    add(await runsUnder(root, 2));
    for (const d of new Set(s.rows.map((r) => r.run_dir).filter((d): d is string => !!d))) {
      const dir = isAbsolute(d) ? d : resolve(root, d);
      if (await isFile(join(dir, METRICS_FILE))) add([{ dir, metricsPath: join(dir, METRICS_FILE) }]);
    }
  };
  for (const input of inputs.map((p) => resolve(p))) {
    if (await isFile(input)) {
      if (basename(input) === RESULTS_FILE) await addSweep(input);
      else add([{ dir: dirname(input), metricsPath: input }]);
    } else if (!(await isDir(input))) {
      throw new UserError(`report input ${input} does not exist`);
    } else if (await isFile(join(input, METRICS_FILE))) {
      add([{ dir: input, metricsPath: join(input, METRICS_FILE) }]);
    } else if (await isFile(join(input, RESULTS_FILE))) {
      await addSweep(join(input, RESULTS_FILE));
    } else {
      const found = await runsUnder(input, 1);
      if (!found.length) throw new UserError(`${input}: no metrics.json in it or in its sub-folders, and no results.json (is it a run directory, an evaluate output or a sweep folder?)`);
      add(found);
    }
  }
  return { runs, sweeps };
}

/** Unique display labels from folder names (the parent folder added where names collide). */
export function uniqueLabels(dirs: string[]): string[] {
  const base = dirs.map((d) => basename(d));
  return base.map((b, i) => {
    if (base.filter((x) => x === b).length === 1) return b;
    const withParent = `${basename(dirname(dirs[i]))}/${b}`;
    const clash = dirs.filter((d, j) => base[j] === b && `${basename(dirname(d))}/${b}` === withParent).length > 1;
    return clash ? `${b}#${i + 1}` : withParent;
  });
}

function checkCommand(json: unknown): RecordedCommand | null {
  const c = json as { argv?: unknown; cwd?: unknown } | null;
  if (!c || !Array.isArray(c.argv) || !c.argv.every((a) => typeof a === 'string')) return null;
  return { argv: c.argv as string[], cwd: typeof c.cwd === 'string' ? c.cwd : null };
}

/** The state's word on the page: 'in progress' or 'abandoned'. */
export function progressLabel(p: RunProgress): string {
  return p.state === 'running' ? 'in progress' : 'abandoned';
}

/** One line for the page's notes and the command's log. */
export function progressNote(label: string, p: RunProgress): string {
  const who = p.owner ? `${p.owner.command} (pid ${p.owner.pid} on ${p.owner.host}, since ${p.owner.started})` : 'an unreadable run.lock';
  const state = p.state === 'running' ? `still being written by ${who}` : `left incomplete: ${who} ended without releasing its run.lock (killed?)`;
  const maps = p.missingMaps > 0 ? `${p.missingMaps} of ${p.expected} maps missing` : `all ${p.expected} maps present`;
  return `${label}: run ${state}; ${maps}. Its metrics.json may not describe the maps the directory will hold.`;
}

export async function loadRuns(found: FoundRun[], labels?: string[]): Promise<LoadedRun[]> {
  if (labels && labels.length !== found.length) throw new UserError(`--labels names ${labels.length} run(s), the inputs hold ${found.length}`);
  const names = labels ?? uniqueLabels(found.map((f) => f.dir));
  const runs: LoadedRun[] = [];
  for (const [i, f] of found.entries()) {
    const metrics = parseMetricsFile(await readJson(f.metricsPath), f.metricsPath);
    const config = (await readJson(join(f.dir, 'config.json'))) as Record<string, unknown> | null;
    const models = (await readJson(join(f.dir, 'models.json'))) as ModelRecord[] | null;
    const command = checkCommand(await readJson(join(f.dir, 'command.json')));
    const list = config ? await listImageRecords(f.dir) : [];
    const records = recordsByCategory(list);
    const progress = config ? await runProgress(f.dir, list, metrics) : null;
    runs.push({
      id: `r${i}`,
      label: names[i],
      dir: f.dir,
      kind: config ? 'run' : 'evaluation',
      metrics,
      metricsPath: f.metricsPath,
      config,
      models: Array.isArray(models) ? models : null,
      command,
      records,
      progress,
    });
  }
  return runs;
}
