/**
 * Provenance per run, pure: the config keys that differ between the runs, the models (name and
 * short sha256 of each file), the dataset, and the command that reproduces the run: the one it
 * recorded (command.json) when it has one, else one rebuilt from config.json / metrics.json.
 */
import { RUN_ONLY_KEYS } from '../config/schema.js';
import { flattenConfig, type FlatConfig } from '../util/flatten.js';
import { progressLabel } from './inputs.js';
import type { LoadedRun } from './types.js';

/** Keys whose value is not the same in every run that has a config (a key missing from one counts as a difference). */
export function differingKeys(configs: Array<FlatConfig | null>): string[] {
  const present = configs.filter((c): c is FlatConfig => c !== null);
  if (present.length < 2) return [];
  const keys = [...new Set(present.flatMap((c) => Object.keys(c)))].sort();
  return keys.filter((k) => new Set(present.map((c) => c[k] ?? '\u0000absent')).size > 1);
}

/** Keys that say where things are or how fast they run, never what is computed (the config's own list). */
export const NOT_RESULTS: ReadonlySet<string> = new Set(RUN_ONLY_KEYS);

/** Flags of a recorded command that continue a run rather than make it. */
const CONTINUE_FLAGS = new Set(['--resume']);

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,@+%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that reproduces a run. Recorded: `cd <cwd> && iapas <argv>` without `--resume`.
 * Rebuilt: `iapas run --preset <p> --dataset <root> --categories ... --set k=v` for every leaf of
 * the effective config (so it does not depend on the preset defaults of the version that reads
 * it); an evaluation without config.json gets its `iapas evaluate` command.
 */
export function reproduceCommand(run: LoadedRun): string {
  if (run.command?.argv.length) {
    const argv = run.command.argv.filter((a) => !CONTINUE_FLAGS.has(a));
    const cmd = ['iapas', ...argv].map(shellQuote).join(' ');
    return run.command.cwd ? `cd ${shellQuote(run.command.cwd)} && ${cmd}` : cmd;
  }
  const m = run.metrics;
  const cats = m.categories.map((c) => c.category).join(',');
  if (!run.config) {
    const o = m.options;
    return [
      'iapas evaluate',
      `--dataset ${shellQuote(m.dataset.root)}`,
      `--maps ${shellQuote(m.maps ?? '<maps>')}`,
      `--categories ${shellQuote(cats)}`,
      `--resolution ${o.resolution}`,
      o.normalize ? '' : '--no-normalize',
      `--normal-images ${o.normal_images}`,
      `--aupro ${o.aupro}`,
    ]
      .filter(Boolean)
      .join(' ');
  }
  const flat = flattenConfig(run.config, { json: true });
  const sets = Object.entries(flat)
    .filter(([k]) => k !== 'preset' && !NOT_RESULTS.has(k))
    .map(([k, v]) => `--set ${shellQuote(`${k}=${v.startsWith('"') ? (JSON.parse(v) as string) : v}`)}`);
  return [`iapas run --preset ${shellQuote(String(run.config.preset))}`, `--dataset ${shellQuote(m.dataset.root)}`, `--categories ${shellQuote(cats)}`, ...sets].join(' ');
}

/** A flattened value as a person reads it: strings without JSON quotes. */
function shownValue(json: string | undefined): string {
  if (json === undefined) return '(absent)';
  return json.startsWith('"') ? (JSON.parse(json) as string) : json;
}

export interface RunProvenance {
  id: string;
  label: string;
  dir: string;
  kind: LoadedRun['kind'];
  /** Set when the run was still being written, or died writing: e.g. "in progress, 3 of 36 maps missing". */
  incomplete: string | null;
  dataset: string;
  datasetRoot: string;
  preset: string | null;
  /** Value of each differing key (strings unquoted); '(absent)' where the run lacks it. */
  differing: Record<string, string>;
  models: Array<{ name: string; files: Array<{ file: string; sha: string }> }>;
  /** The evaluation protocol, in words. */
  protocol: string;
  command: string;
  /** 'recorded': command.json; 'rebuilt': from config.json / metrics.json (flags such as --limit are unknown). */
  commandSource: 'recorded' | 'rebuilt';
}

export function provenance(runs: LoadedRun[]): { differingKeys: string[]; runs: RunProvenance[] } {
  const flats = runs.map((r) => (r.config ? flattenConfig(r.config, { json: true }) : null));
  // The preset has its own column.
  const keys = differingKeys(flats).filter((k) => !NOT_RESULTS.has(k) && k !== 'preset');
  return {
    differingKeys: keys,
    runs: runs.map((r, i) => {
      const o = r.metrics.options;
      return {
        id: r.id,
        label: r.label,
        dir: r.dir,
        kind: r.kind,
        incomplete: r.progress ? `${progressLabel(r.progress)}, ${r.progress.missingMaps} of ${r.progress.expected} maps missing` : null,
        dataset: r.metrics.dataset.name,
        datasetRoot: r.metrics.dataset.root,
        preset: r.config ? String(r.config.preset ?? '') : null,
        differing: Object.fromEntries(keys.map((k) => [k, shownValue(flats[i]?.[k])])),
        models: (r.models ?? []).map((m) => ({
          name: m.name,
          files: m.files.map((f) => ({ file: f.path.split('/').pop() ?? f.path, sha: (f.sha256 ?? '').slice(0, 12) })),
        })),
        protocol: `resolution ${o.resolution}, normalize ${o.normalize ? 'on' : 'off'}, normal images ${o.normal_images_resolved ?? o.normal_images}, AUPRO ${o.aupro} @ FPR ${o.fpr_limit}`,
        command: reproduceCommand(r),
        commandSource: r.command?.argv.length ? 'recorded' : 'rebuilt',
      };
    }),
  };
}
