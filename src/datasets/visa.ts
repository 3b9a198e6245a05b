/**
 * VisA: `<object>/Data/{Images,Masks}/{Normal,Anomaly}` plus the split file `split_csv/1cls.csv`
 * (columns object,split,label,image,mask; paths relative to the VisA root; label 'normal' or
 * 'anomaly'). Defect types come from `<object>/image_anno.csv` when present, else 'anomaly'.
 * Without the split file every image is put in 'test' (reported as a problem). VisA masks store small
 * non-zero values rather than 255; loadMask's rule reads them as positive.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, isAbsolute } from 'node:path';
import type { DatasetProblem, Sample, Split } from './types.js';
import { type Layout, missingMask } from './layout.js';
import { parseCsv } from './csv.js';
import { isDir, isFile, listDir, listImages, relIdOf, stem, findByStem } from './walk.js';

const SPLIT_CSV = join('split_csv', '1cls.csv');

async function isVisaObject(dir: string): Promise<boolean> {
  return isDir(join(dir, 'Data', 'Images'));
}

/** The VisA root and the objects to load: root is the VisA root or one object folder. */
async function resolve(root: string): Promise<{ visaRoot: string; objects: string[] }> {
  if (await isVisaObject(root)) return { visaRoot: dirname(root), objects: [basename(root)] };
  const objects: string[] = [];
  for (const d of (await listDir(root)).dirs) if (await isVisaObject(join(root, d))) objects.push(d);
  return { visaRoot: root, objects };
}

async function defectTypes(objectRoot: string): Promise<Map<string, string>> {
  const file = join(objectRoot, 'image_anno.csv');
  const out = new Map<string, string>();
  if (!(await isFile(file))) return out;
  for (const r of parseCsv(await readFile(file, 'utf8'))) {
    if (r.image && r.label) out.set(basename(r.image), r.label);
  }
  return out;
}

export const visaLayout: Layout = {
  name: 'visa',
  expects: 'VisA: <object>/Data/{Images,Masks}/{Normal,Anomaly} with split_csv/1cls.csv',
  async detect(root) {
    return (await resolve(root)).objects.length > 0;
  },
  async load(root, opts) {
    const { visaRoot, objects } = await resolve(root);
    const samples: Sample[] = [];
    const problems: DatasetProblem[] = [];
    const csvPath = join(visaRoot, SPLIT_CSV);
    const rows = (await isFile(csvPath)) ? parseCsv(await readFile(csvPath, 'utf8')) : null;
    for (const object of objects) {
      const objectRoot = join(visaRoot, object);
      const types = await defectTypes(objectRoot);
      const push = async (split: Split, imagePath: string, anomalous: boolean, maskPath: string | null) => {
        const base = { category: object, split, imagePath, relId: relIdOf(objectRoot, imagePath) };
        if (!anomalous) {
          samples.push({ ...base, maskPath: null, label: 'normal', defectType: 'good' });
          return;
        }
        const defectType = types.get(basename(imagePath)) ?? 'anomaly';
        if (maskPath && (await isFile(maskPath))) {
          samples.push({ ...base, maskPath, label: 'anomalous', defectType });
        } else {
          problems.push(missingMask(imagePath, maskPath ?? join(objectRoot, 'Data', 'Masks', 'Anomaly', `${stem(imagePath)}.png`)));
          if (opts.includeUnmasked) samples.push({ ...base, maskPath: null, label: 'anomalous', defectType });
        }
      };
      if (rows) {
        // The split file names paths; one that leads out of the object's folder is refused.
        const inside = (p: string) => {
          const rel = relative(objectRoot, join(visaRoot, p));
          return rel !== '' && rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel);
        };
        for (const r of rows.filter((x) => x.object === object)) {
          const split: Split = r.split === 'train' ? 'train' : 'test';
          const anomalous = r.label !== 'normal';
          const bad = [r.image, r.mask].find((p) => p && !inside(p));
          if (!r.image || bad !== undefined) {
            problems.push({ kind: 'other', path: csvPath, message: `row for ${object}: path '${bad ?? r.image ?? ''}' is not inside ${objectRoot}; row skipped` });
            continue;
          }
          await push(split, join(visaRoot, r.image), anomalous, r.mask ? join(visaRoot, r.mask) : null);
        }
        continue;
      }
      const imagesDir = join(objectRoot, 'Data', 'Images');
      const masksDir = join(objectRoot, 'Data', 'Masks', 'Anomaly');
      const maskFiles = (await listDir(masksDir)).files;
      for (const f of await listImages(join(imagesDir, 'Normal'))) await push('test', join(imagesDir, 'Normal', f), false, null);
      for (const f of await listImages(join(imagesDir, 'Anomaly'))) {
        const m = findByStem(maskFiles, [stem(f)]);
        await push('test', join(imagesDir, 'Anomaly', f), true, m ? join(masksDir, m) : null);
      }
    }
    if (!rows && objects.length) {
      problems.push({ kind: 'other', path: csvPath, message: 'split file not found; every image is put in the test split' });
    }
    const present = new Set(samples.map((s) => s.category));
    return { categories: objects.filter((o) => present.has(o)), samples, problems };
  },
};
