/**
 * `iapas datasets inspect <root>`: what a dataset root holds as the loaders see it: layout, categories,
 * counts per split/label/defect type, and problems (missing masks, orphan masks, size mismatches).
 */
import type { Command } from 'commander';
import pLimit from 'p-limit';
import { loadDataset, LAYOUT_NAMES } from '../datasets/index.js';
import type { DatasetIndex, DatasetProblem, LayoutName } from '../datasets/types.js';
import { categoryLine, formatTable, summarise } from '../datasets/summary.js';
import { imageSize, loadImage } from '../image/io.js';
import { createProgress } from '../util/progress.js';
import { UserError } from '../util/errors.js';
import { checkOutputs } from '../util/writable.js';
import { maybeWriteJson } from './json-output.js';

interface InspectOptions {
  layout?: string;
  category?: string[];
  checkSizes?: boolean;
  checkImages?: boolean;
  json?: string;
  maxProblems: string;
}

/** Reads a file's size from its header; an unreadable file becomes a problem under its own path. */
async function sizeOrProblem(path: string, problems: DatasetProblem[]): Promise<{ width: number; height: number } | null> {
  try {
    return await imageSize(path);
  } catch (err) {
    problems.push({ kind: 'unreadable', path, message: (err as Error).message });
    return null;
  }
}

/** Compares each mask's size with its image's (headers only); unreadable files are problems too. */
export async function checkMaskSizes(index: DatasetIndex): Promise<DatasetProblem[]> {
  const pairs = index.samples.filter((s) => s.maskPath);
  const problems: DatasetProblem[] = [];
  const progress = createProgress('checking mask sizes', pairs.length);
  const limit = pLimit(4);
  await Promise.all(
    pairs.map((s) =>
      limit(async () => {
        const [a, b] = await Promise.all([sizeOrProblem(s.imagePath, problems), sizeOrProblem(s.maskPath!, problems)]);
        if (a && b && (a.width !== b.width || a.height !== b.height)) {
          problems.push({
            kind: 'size-mismatch',
            path: s.maskPath!,
            message: `mask is ${b.width}x${b.height}, image ${s.imagePath} is ${a.width}x${a.height}`,
          });
        }
        progress.tick();
      }),
    ),
  );
  progress.stop();
  return problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Decodes every image and mask of the index (what a run will do), and lists each file that fails
 * with the reason: truncated, empty, not an image, over the decoder's pixel limit.
 */
export async function checkImages(index: DatasetIndex): Promise<DatasetProblem[]> {
  const files = [...new Set(index.samples.flatMap((s) => (s.maskPath ? [s.imagePath, s.maskPath] : [s.imagePath])))];
  const problems: DatasetProblem[] = [];
  const progress = createProgress('decoding images and masks', files.length);
  const limit = pLimit(2);
  await Promise.all(
    files.map((f) =>
      limit(async () => {
        try {
          await loadImage(f);
        } catch (err) {
          problems.push({ kind: 'unreadable', path: f, message: (err as Error).message });
        } finally {
          progress.tick();
        }
      }),
    ),
  );
  progress.stop();
  return problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function inspect(root: string, opts: InspectOptions): Promise<void> {
  if (opts.layout && !LAYOUT_NAMES.includes(opts.layout as LayoutName)) {
    throw new UserError(`unknown layout '${opts.layout}' (known: ${LAYOUT_NAMES.join(', ')})`);
  }
  const maxProblems = Number(opts.maxProblems);
  if (!Number.isInteger(maxProblems) || maxProblems < 0) throw new UserError(`--max-problems must be a whole number, got '${opts.maxProblems}'`);
  const index = await loadDataset(root, {
    layout: opts.layout as LayoutName | undefined,
    categories: opts.category,
    includeUnmasked: true,
  });
  await checkOutputs([['--json', opts.json, 'file']]);
  if (opts.checkImages) index.problems.push(...(await checkImages(index)));
  if (opts.checkSizes) {
    // A file already reported as undecodable is not reported again by the size check.
    const known = new Set(index.problems.filter((p) => p.kind === 'unreadable').map((p) => p.path));
    index.problems.push(...(await checkMaskSizes(index)).filter((p) => !(p.kind === 'unreadable' && known.has(p.path))));
  }
  const summary = summarise(index);
  const out: string[] = [];
  out.push(`layout: ${summary.layout}`);
  out.push(`root: ${summary.root}`);
  out.push(`categories (${summary.categories.length}): ${summary.categories.map((c) => c.category).join(', ')}`);
  out.push('');
  out.push(
    formatTable(
      ['category', 'split', 'label', 'defect type', 'images', 'with mask'],
      summary.rows.map((r) => [r.category, r.split, r.label, r.defectType, String(r.images), r.label === 'normal' ? '-' : String(r.withMask)]),
    ),
  );
  out.push('');
  for (const c of summary.categories) out.push(categoryLine(c));
  const t = summary.totals;
  if (summary.categories.length > 1) {
    out.push(`total: ${t.images} images: ${t.anomalous} anomalous (${t.anomalousWithMask} with masks), ${t.normal} normal`);
  }
  out.push('');
  if (index.problems.length === 0) out.push('problems: none');
  else {
    const kinds = Object.entries(summary.problems.byKind).map(([k, n]) => `${n} ${k}`).join(', ');
    out.push(`problems (${index.problems.length}: ${kinds}):`);
    for (const p of index.problems.slice(0, maxProblems)) out.push(`  ${p.kind}: ${p.path}: ${p.message}`);
    if (index.problems.length > maxProblems) out.push(`  ... ${index.problems.length - maxProblems} more (all of them in --json)`);
  }
  process.stdout.write(out.join('\n') + '\n');
  await maybeWriteJson(opts.json, { ...summary, problemList: index.problems });
}

export function register(program: Command): void {
  const group = program.command('datasets').description('inspect benchmark datasets as the loaders read them');
  group
    .command('inspect')
    .description('print layout, categories, counts per split/label/defect type, and problems found')
    .argument('<root>', 'dataset root (folder of categories) or one category folder')
    .option('--layout <name>', `read the root as this layout instead of detecting it (${LAYOUT_NAMES.join(', ')})`)
    .option('--category <name...>', 'only these categories')
    .option('--check-sizes', 'also compare every mask size with its image size (reads file headers)')
    .option('--check-images', 'also decode every image and mask, and list the ones that cannot be read (slow: reads every pixel)')
    .option('--max-problems <n>', 'problems to print (all go to --json)', '20')
    .option('--json <file>', 'write the summary and every problem as JSON')
    .action((root: string, opts: InspectOptions) => inspect(root, opts));
}
