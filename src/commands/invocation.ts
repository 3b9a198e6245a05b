/**
 * The command line of the running `iapas` process, kept by main() so that the commands that make a
 * run directory (`run`, `segment`, `demo`) can record it as command.json: flags that are not
 * configuration (`--limit`, `--categories`, the images of `segment`) are in no other file, and a
 * report shows this command as the one that reproduces the run.
 */
import { RunDir } from '../run-directory/run-dir.js';

export interface CommandRecord {
  tool: 'iapas';
  /** Arguments after the program name, as typed. */
  argv: string[];
  /** Where they were typed: relative paths in argv are relative to it. */
  cwd: string;
}

let current: CommandRecord | null = null;

/** Called once by main() with the arguments after `iapas`. */
export function setInvocation(argv: string[]): void {
  current = { tool: 'iapas', argv: [...argv], cwd: process.cwd() };
}

/** Writes <runDir>/command.json (nothing when main() did not record a command, e.g. in library use). */
export async function writeCommandRecord(runDir: string): Promise<void> {
  if (current) await new RunDir(runDir).writeJson('command.json', current);
}
