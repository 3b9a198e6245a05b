import { writeJsonAtomic } from '../util/fs-atomic.js';

/** Every command that produces results accepts `--json <file>`; this writes it. */
export async function maybeWriteJson(file: string | undefined, value: unknown): Promise<void> {
  if (file) await writeJsonAtomic(file, value);
}
