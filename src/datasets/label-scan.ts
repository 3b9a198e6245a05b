import { maskFileHasPositive } from '../image/io.js';
import type { DatasetProblem, Sample } from './types.js';

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

/**
 * The sample of an image whose label file alone decides normal vs anomalous (KSDD1, KSDD2): the
 * mask is kept only when it marks something. Null when the label cannot be read (reported).
 */
export async function sampleFromLabel(
  base: Omit<Sample, 'maskPath' | 'label' | 'defectType'>,
  maskPath: string,
  problems: DatasetProblem[],
): Promise<Sample | null> {
  const positive = await labelHasPositive(maskPath, problems);
  if (positive === null) return null;
  return positive
    ? { ...base, maskPath, label: 'anomalous', defectType: 'defect' }
    : { ...base, maskPath: null, label: 'normal', defectType: 'good' };
}
