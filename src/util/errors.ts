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
  ) {
    super(`model '${modelName}': ${file} ${detail}. Get it with: iapas models pull ${modelName}`);
    this.name = 'MissingModelError';
  }
}
