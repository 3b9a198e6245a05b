import type { Command } from 'commander';
import { join, relative, resolve } from 'node:path';
import { addConfigOptions, resolveConfig, type ConfigFlags } from './config-flags.js';
import { formatReportTable, runOnDataset } from '../api/index.js';
import { RunDir } from '../run-directory/run-dir.js';
import { readImageResult } from '../run-directory/image-result.js';
import { writeVisuals } from '../viz/run-visuals.js';
import { generateSyntheticDataset } from '../synth/index.js';
import { UserError } from '../util/errors.js';
import { abortOnSigint, printRunSummary } from './run-output.js';
import { writeCommandRecord } from './invocation.js';
import { maybeWriteJson } from './json-output.js';
import { checkOutputs } from '../util/writable.js';
import { escapeRelPath } from '../util/file-names.js';

interface DemoFlags extends ConfigFlags {
  out: string;
  dataSeed: string;
  size: string;
  quiet?: boolean;
  json?: string;
  resume?: boolean;
}

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('demo')
      .description('generate a small synthetic anomaly set (MVTec layout), run the fewshot preset on it (embedded SAM, no download), evaluate, write overlays')
      .option('--out <dir>', 'where the data, run and overlays go', 'out/demo')
      .option('--data-seed <n>', 'seed of the synthetic dataset', '0')
      .option('--size <px>', 'side of the synthetic images', '256')
      .option('--resume', 'continue an interrupted demo in --out')
      .option('--quiet', 'no progress output')
      .option('--json <file>', 'write metrics and file locations as JSON'),
    { preset: 'fewshot' },
  ).action(async (opts: DemoFlags) => {
    const config = await resolveConfig(opts, 'fewshot');
    const seed = Number(opts.dataSeed);
    const size = Number(opts.size);
    if (!Number.isInteger(seed)) throw new UserError(`--data-seed expects an integer, got '${opts.dataSeed}'`);
    if (!Number.isInteger(size) || size < 64) throw new UserError(`--size expects an integer >= 64, got '${opts.size}'`);
    const out = resolve(opts.out);
    await checkOutputs([
      ['--out', opts.out, 'dir'],
      ['--json', opts.json, 'file'],
    ]);
    const dataRoot = join(out, 'data');
    const runDir = join(out, 'run');
    const overlays = join(out, 'overlays');
    process.stderr.write(`generating the synthetic dataset in ${dataRoot} (seed ${seed}, ${size} px)\n`);
    const synth = await generateSyntheticDataset(dataRoot, { seed, size });
    const sig = abortOnSigint();
    try {
      const res = await runOnDataset({ config, dataset: dataRoot, runDir, resume: opts.resume, signal: sig.signal, quiet: opts.quiet });
      await writeCommandRecord(runDir);
      printRunSummary(res.run);
      if (res.run.aborted) {
        process.stderr.write(`stopped early; continue with: iapas demo --out ${opts.out} --resume\n`);
        process.exitCode = 130;
        return;
      }
      // Overlays: heat map over the image; green = ground truth, magenta = predicted mask, yellow = SAM prompts.
      const dir = new RunDir(runDir);
      let written = 0;
      const { loadDataset } = await import('../datasets/index.js');
      const index = await loadDataset(dataRoot);
      for (const s of index.samples) {
        if (s.split !== 'test') continue;
        const rec = await dir.readImage(s.category, s.relId);
        if (!rec) continue;
        // One colour scale per category (the range the evaluation normalised with), so its images compare.
        const range = res.metrics?.categories.find((c) => c.category === s.category)?.map_range;
        await writeVisuals(await readImageResult(runDir, rec), join(overlays, s.category), escapeRelPath(s.relId), { maskPath: s.maskPath, range });
        written++;
      }
      process.stdout.write(`\nfewshot preset on the synthetic set (${synth.categories.join(', ')}):\n`);
      process.stdout.write(formatReportTable(res.metrics!) + '\n\n');
      const rel = (p: string) => relative(process.cwd(), p) || '.';
      process.stdout.write(`dataset:  ${rel(dataRoot)}\nresults:  ${rel(runDir)} (maps/*.npy, categories/*/images/*.json, metrics.csv)\noverlays: ${rel(overlays)} (${written} images; heat map over the image; green = ground truth, magenta = prediction, yellow = prompts)\n`);
      await maybeWriteJson(opts.json, { dataset: dataRoot, runDir, overlays, metrics: res.metrics, timing: res.run.timing, cache: res.run.cache });
    } finally {
      sig.dispose();
    }
  });
}
