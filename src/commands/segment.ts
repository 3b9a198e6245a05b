/** `iapas segment`: a preset on plain images, with the map, heat map, mask and overlay of each. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { RunDir } from '../pipeline/run-dir.js';
import { writeVisuals, type VisualFiles } from '../pipeline/visuals.js';
import { IMAGES_CATEGORY, runOnImages } from '../session/run-images.js';
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

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('segment')
      .description('segment anomalies in plain images with a preset; writes per image the map (.npy), heat map, mask and overlay PNGs')
      .argument('<images...>', 'image files')
      .option('--refs <image>', 'normal reference image (repeatable; several paths after one flag also work): few-shot shots, or RAM tagging', collect)
      .option('--out <dir>', 'output directory', 'out/segment')
      .option('--resume', 'skip images already done in --out')
      .option('--quiet', 'no progress output')
      .option('--json <file>', 'write per-image boxes, scores and output files as JSON'),
    { preset: 'fewshot' },
  ).action(async (images: string[], opts: SegmentFlags) => {
    const config = await resolveConfig(opts, 'fewshot');
    const out = resolve(opts.out!);
    const sig = abortOnSigint();
    try {
      const { run, tests } = await runOnImages({ config, images, references: opts.refs ?? [], out, resume: opts.resume, signal: sig.signal, quiet: opts.quiet });
      await writeCommandRecord(out);
      printRunSummary(run);
      const dir = new RunDir(out);
      const results: Array<{ image: string; files: VisualFiles; boxes: unknown; objectTag?: string }> = [];
      const stageA = await dir.readStageA(IMAGES_CATEGORY);
      for (const t of tests) {
        const rec = await dir.readImage(IMAGES_CATEGORY, t.relId);
        if (!rec) continue;
        const files = await writeVisuals(out, rec, out, t.relId);
        results.push({ image: t.imagePath, files, boxes: rec.boxes, objectTag: stageA?.objectTag });
        process.stdout.write(`${t.imagePath}: ${(rec.boxes ?? []).filter((b) => b.kept).length} region(s) -> ${files.overlay}\n`);
      }
      if (stageA?.caption) process.stdout.write(`caption: ${stageA.caption.caption}\n`);
      await maybeWriteJson(opts.json, { out, preset: config.preset, objectTag: stageA?.objectTag, caption: stageA?.caption, images: results });
    } finally {
      sig.dispose();
    }
  });
}
