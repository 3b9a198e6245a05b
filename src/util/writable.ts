/**
 * Checks, before any work starts, that an output can be written where the user asked, so that a
 * long run never ends on a permission error. Names the path as the user gave it.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from './errors.js';

async function statOrNull(p: string) {
  return stat(p).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    if (err.code === 'ENOTDIR') return 'notdir' as const;
    throw err;
  });
}

/** The nearest existing ancestor of `abs` (itself included), and whether a file blocks the way. */
async function nearestExisting(abs: string): Promise<{ dir: string; blockedBy?: string }> {
  let p = abs;
  for (;;) {
    const st = await statOrNull(p);
    if (st && st !== 'notdir') return st.isDirectory() ? { dir: p } : { dir: p, blockedBy: p };
    const up = dirname(p);
    if (up === p) return { dir: p };
    p = up;
  }
}

async function writableDir(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `kind: 'dir'`: `path` is (or will be created as) a folder we write into. `kind: 'file'`: `path`
 * is a file written atomically (through a temporary sibling, so its folder must be writable).
 * `flag` names the option in the message, e.g. '--json'.
 */
export async function checkWritable(path: string, kind: 'file' | 'dir', flag: string): Promise<void> {
  const abs = resolve(path);
  const st = await statOrNull(abs);
  const say = (why: string) => new UserError(`cannot write ${flag} ${path}: ${why}`);
  if (st && st !== 'notdir') {
    if (kind === 'dir' && !st.isDirectory()) throw say('it is a file, not a folder');
    if (kind === 'file' && st.isDirectory()) throw say('it is a folder');
    const dir = kind === 'dir' ? abs : dirname(abs);
    if (!(await writableDir(dir))) throw say(`${dir} is not writable (permission denied)`);
    return;
  }
  const { dir, blockedBy } = await nearestExisting(kind === 'dir' ? abs : dirname(abs));
  if (blockedBy) throw say(`${blockedBy} is a file, not a folder`);
  if (!(await writableDir(dir))) throw say(`${dir} is not writable (permission denied), so the ${kind === 'dir' ? 'folder' : 'file'} cannot be created there`);
}

/** checkWritable for each given (flag, path, kind); undefined paths are skipped. */
export async function checkOutputs(outputs: Array<[flag: string, path: string | undefined, kind: 'file' | 'dir']>): Promise<void> {
  for (const [flag, path, kind] of outputs) if (path) await checkWritable(path, kind, flag);
}
