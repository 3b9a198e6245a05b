import { mkdir, rename, writeFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WriteError } from './errors.js';

/** Temporary siblings are named `<target>.<pid>.<8 hex>.tmp`; see tempOwnerPid. */
export const TEMP_SUFFIX = '.tmp';

/**
 * Writes a file so that readers (and a resumed run) never see half of it:
 * write to a temporary sibling, then rename over the target. A failure names the target (never
 * the temporary name) as a WriteError.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, typeof data === 'string' || data instanceof Uint8Array ? data : data.values());
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new WriteError(path, err);
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** The pid that wrote a temporary file of writeFileAtomic, or undefined for other names. */
export function tempOwnerPid(name: string): number | undefined {
  const m = /\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
