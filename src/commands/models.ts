/**
 * `iapas models list|pull`: what the manifest lists, what is on disk, and fetching it.
 */
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { defaultModelsDir, loadManifest } from '../models/weights/manifest.js';
import { modelStatus, pullModel, type ModelStatus, type PullReport } from '../models/weights/resolve.js';
import { maybeWriteJson } from './json-output.js';
import { checkOutputs } from '../util/writable.js';

export function register(program: Command): void {
  const models = program.command('models').description('model manifest: list what is present, pull what is missing');

  models
    .command('list')
    .description('show each model of the manifest as present, partial, missing or corrupt (hashes files once, then trusts a size+mtime stamp)')
    .option('--models-dir <dir>', 'where models are stored (default $IAPAS_MODELS or ./models)')
    .option('--json <file>', 'write the status as JSON')
    .action(async (opts: { modelsDir?: string; json?: string }) => {
      const dir = opts.modelsDir ?? defaultModelsDir();
      const manifest = await loadManifest();
      const out: ModelStatus[] = [];
      for (const name of Object.keys(manifest.models)) {
        const st = await modelStatus(name, dir, manifest);
        out.push(st);
        const e = manifest.models[name];
        process.stdout.write(`${name.padEnd(26)} ${st.state.padEnd(8)} ${e.format.padEnd(24)} ${e.license}\n`);
        for (const f of st.files) {
          process.stdout.write(`    ${f.state.padEnd(14)} ${f.path}${f.detail ? `  (${f.detail})` : ''}\n`);
        }
      }
      process.stdout.write(`models dir: ${dir}\n`);
      await maybeWriteJson(opts.json, { modelsDir: dir, models: out });
    });

  models
    .command('pull')
    .description('download a model (resumes interrupted transfers, verifies sha256)')
    .argument('<name...>', 'model name(s) from `iapas models list`')
    .option('--models-dir <dir>', 'where models are stored (default $IAPAS_MODELS or ./models)')
    .option('--json <file>', 'write what was fetched as JSON')
    .action(async (names: string[], opts: { modelsDir?: string; json?: string }) => {
      const dir = opts.modelsDir ?? defaultModelsDir();
      await checkOutputs([
        ['--models-dir', dir, 'dir'],
        ['--json', opts.json, 'file'],
      ]);
      const manifest = await loadManifest();
      const reports: PullReport[] = [];
      const pending: string[] = [];
      for (const name of names) {
        const r = await pullModel(name, { modelsDir: dir, manifest });
        reports.push(r);
        for (const f of r.files) {
          process.stdout.write(`${name}/${f.path}: ${f.state}${f.sha256 ? ` sha256 ${f.sha256}` : ''}${f.detail ? ` (${f.detail})` : ''}\n`);
          if (f.state === 'unpinned') {
            process.stdout.write(`    unpinned: the manifest has no sha256 for this file; check the hash above against the source before trusting it\n`);
          }
          if (f.state === 'export-needed') pending.push(`${name}/${f.path}: ${f.detail}`);
        }
      }
      await maybeWriteJson(opts.json, { modelsDir: dir, reports });
      if (pending.length) throw new UserError(`some files cannot be downloaded and must be made by hand:\n  ${pending.join('\n  ')}`);
    });
}
