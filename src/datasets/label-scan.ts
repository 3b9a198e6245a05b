import { maskFileHasPositive } from '../image/io.js';
import type { DatasetProblem } from './types.js';

/**
 * Whether a label/GT file marks its image anomalous; an unreadable label is reported as a problem
 * (and null returned, so the image is skipped) rather than aborting the whole dataset.
 */
export async function labelHasPositive(maskPath: string, problems: DatasetProblem[]): Promise<boolean | null> {
  try {
    return await maskFileHasPositive(maskPath);
  } catch (err) {
    problems.push({ kind: 'unreadable', path: maskPath, message: `${(err as Error).message}; image skipped` });
    return null;
  }
}
