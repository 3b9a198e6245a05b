/**
 * One writer per run directory. Two runs writing into one directory would mix their configs and
 * records (and a later --resume would accept the mix), so every run takes `<run dir>/run.lock`
 * first and a second one is refused until the first ends.
 *
 * The lock file holds its owner: pid, host, command, start time, and on Linux the boot id and the
 * process start time, so a reused pid is not mistaken for the owner. It is created complete (a
 * temporary file hard-linked to the lock name, which fails if the lock exists) and removed on
 * release. A lock is stale, and is taken over, when its owner was on this host and is gone (no such
 * pid, another boot, or a pid now owned by a younger process). A lock from another host is never
 * taken over: its owner cannot be checked from here; delete the file by hand when it is gone.
 *
 * API: `acquireRunLock(dir)` -> RunLock (`release()`); `withRunLock(dir, fn)`. The runner takes the
 * lock itself unless its caller passes one it holds (to cover the evaluation after the run too).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError, WriteError } from '../util/errors.js';
import { pidAlive } from '../util/process.js';

export const LOCK_FILE = 'run.lock';

export interface LockOwner {
  pid: number;
  host: string;
  command: string;
  started: string;
  /** Linux: /proc/sys/kernel/random/boot_id of the owner's boot. */
  bootId?: string;
  /** Linux: the owner's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks?: number;
  token: string;
}

export interface RunLock {
  /** Absolute run directory. */
  readonly dir: string;
  readonly path: string;
  readonly owner: LockOwner;
  release(): Promise<void>;
}

/** The run directory is held by a live run (or by one on another host). */
export class RunDirLockedError extends UserError {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner | undefined,
    dirFlag: string,
    lockFile = LOCK_FILE,
    what = 'run directory',
  ) {
    const lockPath = join(dir, lockFile);
    const who = owner ? `${owner.command} (pid ${owner.pid} on ${owner.host}, since ${owner.started})` : 'another run';
    const remote = owner && owner.host !== hostname();
    super(
      `${what} ${dir} is in use by ${who}; wait for it to end or choose another ${dirFlag}` +
        (remote ? `. It runs on another host and cannot be checked from here: if it has ended, delete ${lockPath}` : ''),
    );
    this.name = 'RunDirLockedError';
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Start time of a process in clock ticks since boot (Linux), or undefined. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the owner of a lock is certainly gone (only decidable for this host). */
export function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  const boot = readBootId();
  if (owner.bootId && boot && owner.bootId !== boot) return true;
  if (!pidAlive(owner.pid)) return true;
  if (owner.startTicks !== undefined) {
    const now = processStartTicks(owner.pid);
    if (now !== undefined && now !== owner.startTicks) return true;
  }
  return false;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

export async function readRunLock(dir: string, file = LOCK_FILE): Promise<LockOwner | undefined> {
  try {
    return parseOwner(await readFile(join(resolve(dir), file), 'utf8'));
  } catch {
    return undefined;
  }
}

export interface LockOptions {
  /** What the lock file names as its owner. */
  command?: string;
  /** The option that chose the directory, for the message. */
  dirFlag?: string;
  /** The lock file's name in the directory (default run.lock; a sweep directory has its own). */
  file?: string;
  /** What the directory is, for the message (default 'run directory'). */
  what?: string;
}

/**
 * Takes the lock of a run directory (creating the directory), or throws RunDirLockedError naming
 * the owner.
 */
export async function acquireRunLock(dir: string, opts: LockOptions = {}): Promise<RunLock> {
  const abs = resolve(dir);
  const file = opts.file ?? LOCK_FILE;
  const path = join(abs, file);
  const refused = (owner: LockOwner | undefined) => new RunDirLockedError(abs, owner, opts.dirFlag ?? '--run-dir', file, opts.what);
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    command: opts.command ?? 'iapas',
    started: new Date().toISOString(),
    bootId: readBootId(),
    startTicks: processStartTicks(process.pid),
    token: randomBytes(8).toString('hex'),
  };
  const tmp = `${path}.${process.pid}.${owner.token}.tmp`;
  try {
    await mkdir(abs, { recursive: true });
    await writeFile(tmp, JSON.stringify(owner, null, 2) + '\n');
  } catch (err) {
    throw new WriteError(abs, err);
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(tmp, path);
        await removeDeadLockTemps(abs, file);
        return {
          dir: abs,
          path,
          owner,
          async release() {
            const now = await readFile(path, 'utf8').catch(() => '');
            if (parseOwner(now)?.token === owner.token) await unlink(path).catch(() => undefined);
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new WriteError(path, err);
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // released meanwhile
      const held = parseOwner(text);
      // An unreadable lock file was not written by this code (ours are linked complete): refuse.
      if (!held || !isStale(held)) throw refused(held);
      // Stale: remove it, unless another process took it over meanwhile (then its content differs).
      const again = await readFile(path, 'utf8').catch(() => undefined);
      if (again === text) await unlink(path).catch(() => undefined);
    }
    throw refused(await readRunLock(abs, file));
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Temporary lock files (`<lock file>.<pid>.<token>.tmp`) of processes that died while taking the lock. */
async function removeDeadLockTemps(dir: string, file: string): Promise<void> {
  const prefix = `${file}.`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{16}\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) await unlink(join(dir, name)).catch(() => undefined);
  }
}

/** Runs `fn` holding the lock of `dir`, and releases it however `fn` ends. */
export async function withRunLock<T>(dir: string, opts: LockOptions, fn: (lock: RunLock) => Promise<T>): Promise<T> {
  const lock = await acquireRunLock(dir, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
