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
