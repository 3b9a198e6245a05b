import type { Command } from 'commander';
import YAML from 'yaml';
import { addConfigOptions, resolveConfig, type ConfigFlags } from './config-flags.js';
import { maybeWriteJson } from './json-output.js';
import { PRESETS } from '../methods/registry.js';

export function register(program: Command): void {
  const config = program.command('config').description('effective configuration and presets');
  addConfigOptions(
    config
      .command('show')
      .description('print the effective config: preset defaults < --config file < flags')
      .option('--format <fmt>', 'yaml | json', 'yaml')
      .option('--json <file>', 'also write it as JSON to this file'),
    { preset: undefined },
  ).action(async (opts: ConfigFlags & { format: string; json?: string }) => {
    const cfg = await resolveConfig(opts, 'iap-as');
    process.stdout.write(opts.format === 'json' ? JSON.stringify(cfg, null, 2) + '\n' : YAML.stringify(cfg));
    await maybeWriteJson(opts.json, cfg);
  });
  config
    .command('presets')
    .description('list presets and whether they run on embedded weights')
    .option('--json <file>', 'write the list as JSON')
    .action(async (opts: { json?: string }) => {
      for (const p of PRESETS) {
        process.stdout.write(`${p.name.padEnd(12)} ${p.weights === 'embedded' ? 'embedded weights' : 'needs downloads '}  ${p.description}\n`);
      }
      await maybeWriteJson(opts.json, PRESETS);
    });
}
