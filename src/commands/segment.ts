import type { Command } from 'commander';
import { basename, extname, resolve } from 'node:path';
import { addConfigOptions, cacheOf, modelsDirOf, resolveConfig, type ConfigFlags } from './config-flags.js';
import type { Sample } from '../datasets/types.js';
import { getPreset } from '../methods/registry.js';
import { RunDir } from '../pipeline/run-dir.js';
import { runPipeline } from '../pipeline/runner.js';
import { writeVisuals, type VisualFiles } from '../pipeline/visuals.js';
import { UserError } from '../util/errors.js';
import { abortOnSigint, printRunSummary } from './eval.js';
import { maybeWriteJson } from './json-output.js';

interface SegmentFlags extends ConfigFlags {
  refs?: string[];
  out?: string;
  resume?: boolean;
  quiet?: boolean;
  json?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Plain images as samples of one pseudo-category; stems made unique so outputs never collide. */
export function imagesAsSamples(paths: string[], category: string, split: 'train' | 'test'): Sample[] {
  const seen = new Map<string, number>();
  return paths.map((p) => {
    const abs = resolve(p);
    let stem = basename(abs, extname(abs)).replace(/[^A-Za-z0-9_.-]/g, '_');
    const n = seen.get(stem) ?? 0;
    seen.set(stem, n + 1);
    if (n > 0) stem = `${stem}_${n}`;
    return { category, split, imagePath: abs, maskPath: null, label: 'normal', defectType: 'unknown', relId: stem };
  });
}

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
  ).action(async (images: string[], opts: SegmentFlags) => {
    const config = await resolveConfig(opts, 'fewshot');
    const preset = getPreset(config.preset);
    const refs = imagesAsSamples(opts.refs ?? [], 'input', 'train');
    const pipeline = await preset.build(config, { cache: cacheOf(config), modelsDir: modelsDirOf(config) });
    const out = resolve(opts.out!);
    const sig = abortOnSigint();
    try {
      const needsRefs = pipeline.categoryStages.some((s) => s.reads.includes('references') || s.reads.includes('refImages'));
      if (needsRefs && refs.length === 0) {
        throw new UserError(
          config.preset === 'fewshot'
            ? 'the fewshot preset needs normal reference images: --refs <normal images>'
            : 'tagging needs normal reference images (--refs <images>), or give the object tag with --object-tag <tag>',
        );
      }
      const tests = imagesAsSamples(images, 'input', 'test');
      const run = await runPipeline({
        pipeline,
        config,
        jobs: [{ category: 'input', references: refs.slice(0, config.references.k), tests }],
        runDir: out,
        resume: opts.resume,
        cache: cacheOf(config),
        signal: sig.signal,
        quiet: opts.quiet,
      });
      printRunSummary(run);
      const dir = new RunDir(out);
      const results: Array<{ image: string; files: VisualFiles; boxes: unknown; objectTag?: string }> = [];
      const stageA = await dir.readStageA('input');
      for (const t of tests) {
        const rec = await dir.readImage('input', t.relId);
        if (!rec) continue;
        const files = await writeVisuals(out, rec, out, t.relId);
        results.push({ image: t.imagePath, files, boxes: rec.boxes, objectTag: stageA?.objectTag });
        process.stdout.write(`${t.imagePath}: ${(rec.boxes ?? []).filter((b) => b.kept).length} region(s) -> ${files.overlay}\n`);
      }
      if (stageA?.caption) process.stdout.write(`caption: ${stageA.caption.caption}\n`);
      await maybeWriteJson(opts.json, { out, preset: config.preset, objectTag: stageA?.objectTag, caption: stageA?.caption, images: results });
    } finally {
      sig.dispose();
      await pipeline.dispose?.();
    }
  });
}
