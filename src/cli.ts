/**
 * The `iapas` command line. Each command group lives in src/commands/<name>.ts and exports
 * `register(program)`; this file only wires them and turns errors into one-line messages.
 */
import { Command, CommanderError } from 'commander';
import { registerAll } from './commands/index.js';
import { setInvocation } from './commands/invocation.js';
import { UserError } from './util/errors.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('iapas')
    .description('Zero-shot industrial anomaly segmentation with foundation models (IAP-AS and related presets)')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    // Before the commands are added, so that they inherit it: help, version and usage errors
    // come back here as exceptions instead of ending the process.
    .exitOverride();
  registerAll(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  setInvocation(argv.slice(2));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit with code 0 through this path too.
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof UserError) {
      process.stderr.write(`iapas: ${err.message}\n`);
    } else if (process.env.IAPAS_DEBUG) {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    } else {
      const e = err as Error;
      process.stderr.write(`iapas: ${e?.message ?? String(err)} (set IAPAS_DEBUG=1 for the stack)\n`);
    }
    process.exitCode = 1;
  }
}
