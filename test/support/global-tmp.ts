/**
 * Vitest global setup: every test file (and every process a test spawns) writes its temporary
 * files under one fresh directory, removed when the run ends, so a test run leaves nothing in the
 * system temp directory even where a test does not clean up after itself. `os.tmpdir()` reads
 * TMPDIR on each call, and the test workers are forked after this runs, so they inherit it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'iapas-test-'));
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (process.env.IAPAS_KEEP_TEST_TMP) {
      process.stderr.write(`test temporary files kept in ${dir}\n`);
      return;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
