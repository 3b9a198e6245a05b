/**
 * The layering of src/: every import points to a lower layer or stays inside its own unit, and
 * no import cycle exists. A unit is a top-level folder of src/, or a sub-folder of src/models and
 * src/methods (one per model family, one per method). The ranks are the README's Layout table.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/shared.js';

const SRC = join(REPO_ROOT, 'src');

const RANK: Record<string, number> = {
  util: 0,
  config: 1,
  metrics: 1,
  image: 2,
  datasets: 3,
  synth: 3,
  viz: 3,
  evaluation: 4,
  'models/onnx': 5,
  'models/weights': 5,
  'models/sam': 6,
  'models/grounding-dino': 6,
  'models/ram': 6,
  'models/llm': 6,
  // The run directory's format: its layout, records, lock; written by the pipeline, read by everyone above.
  'run-directory': 6.5,
  'models/backbones': 7,
  // Decoder tuning: trains on models/sam's weights and datasets; only commands/api import it.
  tuning: 7,
  prompts: 7,
  pipeline: 7,
  stages: 8,
  // What two or more methods share; a method folder never imports another method folder.
  'methods/components': 8.5,
  methods: 10,
  report: 8,
  session: 11,
  // The public entry point: what the commands and a researcher's own script import.
  api: 11.5,
  commands: 12,
  '.': 13,
};

/** Every method folder (src/methods/<method>/, not components) has one rank: between the shared pieces and the registry. */
const METHOD_FOLDER_RANK = 9;

function rankOf(unit: string): number | undefined {
  if (RANK[unit] !== undefined) return RANK[unit];
  return unit.startsWith('methods/') ? METHOD_FOLDER_RANK : undefined;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** src/models/sam/model.ts -> 'models/sam'; src/stages/detect.ts -> 'stages'; src/cli.ts -> '.' */
function unitOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  if (parts.length === 1) return '.';
  if ((parts[0] === 'models' || parts[0] === 'methods') && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)) {
    out.push(join(dirname(file), m[1]).replace(/\.js$/, '.ts'));
  }
  return out;
}

const files = walk(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('src/ layering', () => {
  it('every unit has a rank', () => {
    const unranked = [...new Set(files.map(unitOf))].filter((u) => rankOf(u) === undefined);
    expect(unranked).toEqual([]);
  });

  it('imports point downward or stay inside their unit', () => {
    const upward: string[] = [];
    for (const [file, deps] of graph) {
      const from = unitOf(file);
      for (const dep of deps) {
        const to = unitOf(dep);
        if (to !== from && !(rankOf(to)! < rankOf(from)!)) {
          upward.push(`${posix.normalize(relative(SRC, file))} -> ${relative(SRC, dep)} (${from} ${rankOf(from)} -> ${to} ${rankOf(to)})`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(SRC, p)).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const d of graph.get(f) ?? []) if (graph.has(d)) visit(d, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
