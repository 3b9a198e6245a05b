/**
 * An error meant for the user: the CLI prints its message on one line and exits non-zero,
 * without a stack trace. Anything else that escapes is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** A model file that a stage needs is not on disk (or is corrupt). */
export class MissingModelError extends UserError {
  constructor(
    readonly modelName: string,
    readonly file: string,
    detail = 'not found',
    /** How to get it; defaults to the plain pull line (callers add --models-dir or an export step). */
    readonly howToGet = `iapas models pull ${modelName}`,
  ) {
    super(`model '${modelName}': ${file} ${detail}. Get it with: ${howToGet}`);
    this.name = 'MissingModelError';
  }
}

/** Several model files are missing: all are named at once, before any download or work starts. */
export class MissingModelsError extends UserError {
  constructor(readonly errors: MissingModelError[]) {
    super(`${errors.length} models are missing: ${errors.map((e) => e.message).join(' | ')}`);
    this.name = 'MissingModelsError';
  }
}

/**
 * Resolves a build's model files while collecting the missing ones, so that a user downloading
 * several GB learns about every missing file before the first pull, not one per attempt:
 * `need(resolve)` gives the value or undefined; `check()` then throws for all that were missing.
 */
export function missingModelCollector(): { need<T>(resolveOne: () => Promise<T>): Promise<T | undefined>; check(): void } {
  const missing: MissingModelError[] = [];
  return {
    async need(resolveOne) {
      try {
        return await resolveOne();
      } catch (err) {
        if (err instanceof MissingModelError) missing.push(err);
        else throw err;
        return undefined;
      }
    },
    check() {
      if (missing.length === 1) throw missing[0];
      if (missing.length > 1) throw new MissingModelsError(missing);
    },
  };
}

/**
 * An output could not be written (permission, missing or non-folder parent, full disk). A user
 * error (one line, naming the path), but never taken for bad input: a run stops on it.
 */
export class WriteError extends UserError {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot write ${path}: ${describeFsError(cause)}`, { cause });
    this.name = 'WriteError';
  }
}

/** A file-system error in a few words ('permission denied', 'not a folder: /a/b', ...). */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EEXIST':
      return e.syscall === 'mkdir' ? 'a part of the path is a file, not a folder' : 'already exists';
    case 'EISDIR':
      return 'is a folder';
    case 'ENOENT':
      return 'no such file or folder';
    default:
      return (e?.message ?? String(err)).split('\n')[0];
  }
}
