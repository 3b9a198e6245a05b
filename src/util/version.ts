/**
 * Which code this process runs: the package version, and the git commit when the package is a git
 * checkout (read from `.git` directly: no child process, nothing when there is no checkout). Queue
 * jobs carry the submitter's and each result records the one that computed it, so results of two
 * versions are never mixed unnoticed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CodeVersion {
  version: string;
  commit?: string;
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function gitCommit(root: string): string | undefined {
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return /^[0-9a-f]{40}$/.test(head) ? head : undefined;
    const ref = head.slice(5);
    try {
      return readFileSync(join(root, '.git', ref), 'utf8').trim();
    } catch {
      // A packed ref: `<sha> <ref>` lines.
      const line = readFileSync(join(root, '.git', 'packed-refs'), 'utf8')
        .split('\n')
        .find((l) => l.endsWith(` ${ref}`));
      return line?.split(' ')[0];
    }
  } catch {
    return undefined;
  }
}

let cached: CodeVersion | undefined;

export function codeVersion(): CodeVersion {
  if (!cached) {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    const commit = gitCommit(PACKAGE_ROOT);
    cached = commit ? { version: pkg.version, commit } : { version: pkg.version };
  }
  return cached;
}

/** Same code: equal versions, and equal commits where both sides know theirs. */
export function sameCode(a: CodeVersion, b: CodeVersion): boolean {
  return a.version === b.version && (a.commit === undefined || b.commit === undefined || a.commit === b.commit);
}

export function formatVersion(v: CodeVersion): string {
  return v.commit ? `${v.version} (${v.commit.slice(0, 10)})` : v.version;
}
