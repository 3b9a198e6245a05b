/** `iapas segment`: a preset on plain images, with the map, heat map, mask and overlay of each. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { RunDir } from '../run-directory/run-dir.js';
import type { StageARecord } from '../run-directory/records.js';
import type { DetectorFields } from '../stages/detector-fields.js';
import { readImageResult } from '../run-directory/image-result.js';
import { writeVisuals, type VisualFiles } from '../viz/run-visuals.js';
import { runOnImages } from '../api/index.js';
import { IMAGES_CATEGORY, segmentOutputStem } from '../session/run-images.js';
import { checkOutputs } from '../util/writable.js';
import { addConfigOptions, resolveConfig, type ConfigFlags } from './config-flags.js';
import { writeCommandRecord } from './invocation.js';
import { maybeWriteJson } from './json-output.js';
import { abortOnSigint, printRunSummary } from './run-output.js';

interface SegmentFlags extends ConfigFlags {
  refs?: string[];
  out?: string;
  resume?: boolean;
  quiet?: boolean;
  json?: string;
}

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('segment')
      .description('segment anomalies in plain images with a preset; writes per image the map (.npy), heat map, mask and overlay PNGs')
      .argument('<images...>', 'image files')
      .option(
        '--refs <images...>',
        'normal reference images: few-shot shots, or what RAM tags. Takes every path up to the next option, so put the images to segment first or after --; repeatable',
      )
      .option('--out <dir>', 'output directory (also a run directory: --resume continues it)', 'out/segment')
      .option('--resume', 'skip images already done in --out')
      .option('--quiet', 'no progress output')
      .option('--json <file>', 'write per-image boxes, scores and output files as JSON'),
    { preset: 'fewshot' },
  ).action(async (images: string[], opts: SegmentFlags) => {
    const config = await resolveConfig(opts, 'fewshot');
    const out = resolve(opts.out!);
    await checkOutputs([
      ['--out', opts.out, 'dir'],
      ['--json', opts.json, 'file'],
    ]);
    const sig = abortOnSigint();
    try {
      const dir = new RunDir(out);
      const results: Array<{ image: string; files: VisualFiles; samPrompts: unknown; objectTag?: string }> = [];
      let caption: string | undefined;
      let objectTag: string | undefined;
      let captionRecord: unknown;
      // Pictures are written while the run still holds the output folder's lock.
      const { run } = await runOnImages({
        config,
        images,
        references: opts.refs ?? [],
        out,
        resume: opts.resume,
        signal: sig.signal,
        quiet: opts.quiet,
        afterRun: async (_run, tests) => {
          await writeCommandRecord(out);
          const stageA: StageARecord<DetectorFields['category']> | undefined = await dir.readStageA(IMAGES_CATEGORY);
          objectTag = stageA?.objectTag;
          caption = stageA?.caption?.caption;
          captionRecord = stageA?.caption;
          for (const t of tests) {
            const rec = await dir.completeRecord(IMAGES_CATEGORY, t.relId);
            if (!rec) continue;
            const files = await writeVisuals(await readImageResult(out, rec), out, segmentOutputStem(t.relId));
            results.push({ image: t.imagePath, files, samPrompts: rec.samPrompts, objectTag });
            process.stdout.write(`${t.imagePath}: ${(rec.samPrompts ?? []).filter((b) => b.kept).length} region(s) -> ${files.overlay}\n`);
          }
        },
      });
      printRunSummary(run);
      if (caption) process.stdout.write(`caption: ${caption}\n`);
      await maybeWriteJson(opts.json, { out, preset: config.preset, objectTag, caption: captionRecord, images: results });
    } finally {
      sig.dispose();
    }
  });
}
