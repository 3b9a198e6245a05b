import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('test temporary directory', () => {
  it('is the run-scoped directory, in this worker and in the processes a test spawns', () => {
    expect(basename(tmpdir())).toMatch(/^iapas-test-/);
    const child = execFileSync(process.execPath, ['-e', 'process.stdout.write(require("node:os").tmpdir())'], { encoding: 'utf8' });
    expect(child).toBe(tmpdir());
  });
});
