/**
 * One relId per image: maps, records and visuals are named after it, so two images that share
 * one (`dup.jpg` and `dup.png`, both `test/good/dup`) would overwrite each other's results. Such
 * images take their file name with its extension as relId instead (`test/good/dup.jpg`,
 * `test/good/dup.png`), repeated until every relId of a category is unique, and each renaming is
 * reported as a 'duplicate-name' problem. The same file listed twice is kept once.
 */
import { extname } from 'node:path';
import { uniqueNames } from '../util/unique-names.js';
import type { DatasetProblem, Sample } from './types.js';

export function uniqueRelIds(samples: Sample[]): { samples: Sample[]; problems: DatasetProblem[] } {
  const problems: DatasetProblem[] = [];
  const seen = new Set<string>();
  const kept: Sample[] = [];
  for (const s of samples) {
    const key = `${s.category}\u0000${s.imagePath}`;
    if (seen.has(key)) {
      problems.push({ kind: 'duplicate-name', path: s.imagePath, message: 'the same image is listed twice; kept once' });
      continue;
    }
    seen.add(key);
    kept.push(s);
  }
  const byCategory = new Map<string, Sample[]>();
  for (const s of kept) {
    const list = byCategory.get(s.category);
    if (list) list.push(s);
    else byCategory.set(s.category, [s]);
  }
  const out: Sample[] = [];
  for (const list of byCategory.values()) {
    const { names, renamed } = uniqueNames(list, (s) => [s.relId, s.relId + extname(s.imagePath)]);
    const renamedSet = new Set(renamed);
    list.forEach((s, i) => {
      if (!renamedSet.has(i)) {
        out.push(s);
        return;
      }
      const others = list.filter((o, j) => j !== i && (o.relId === s.relId || names[j] === s.relId)).map((o) => o.imagePath);
      problems.push({
        kind: 'duplicate-name',
        path: s.imagePath,
        message: `shares the name ${s.relId} with ${others.join(', ') || 'another image'}; its map and record are named ${names[i]}`,
      });
      out.push({ ...s, relId: names[i] });
    });
  }
  return { samples: out, problems };
}
