/**
 * DAGM 2007: `Class<k>/{Train,Test}/<n>.PNG`, masks in `Class<k>/{Train,Test}/Label/<n>_label.PNG`,
 * and `Label/Labels.txt` listing every image: a header line, then per image
 * `<index> <defective 0|1> <image file> <0> <label file or nothing>`. The label flag decides the
 * label; a defective image whose label file is absent is reported. Without Labels.txt the presence of
 * `<n>_label.PNG` decides, and the absence is reported. Categories are the class folders ('Class1').
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DatasetProblem, Sample, Split } from './types.js';
import { type Layout, missingMask } from './layout.js';
import { categoryRoots } from './mvtec.js';
import { isFile, listDir, listImages, relIdOf, stem } from './walk.js';

const SPLIT_DIRS: Array<[string, Split]> = [
  ['Train', 'train'],
  ['Test', 'test'],
];

async function isDagmClass(dir: string): Promise<boolean> {
  const { dirs } = await listDir(dir);
  return /^Class\d+$/i.test(basename(dir)) && dirs.some((d) => d === 'Train' || d === 'Test');
}

/** Parses Labels.txt into image file name -> { defective, labelFile }. */
export function parseDagmLabels(text: string): Map<string, { defective: boolean; labelFile: string | null }> {
  const out = new Map<string, { defective: boolean; labelFile: string | null }>();
  for (const line of text.split(/\r?\n/)) {
    const tokens = line.trim().split(/\s+/).filter(Boolean);
    const imageAt = tokens.findIndex((t) => /\.(png|bmp|jpe?g)$/i.test(t) && !/_label\./i.test(t));
    if (imageAt < 1) continue; // header line or junk
    const flag = tokens[imageAt - 1];
    const labelFile = tokens.find((t) => /_label\./i.test(t)) ?? null;
    out.set(tokens[imageAt], { defective: flag === '1', labelFile });
  }
  return out;
}

export const dagmLayout: Layout = {
  name: 'dagm',
  expects: 'DAGM 2007: Class<k>/{Train,Test}/<n>.PNG with Label/<n>_label.PNG and Label/Labels.txt',
  async detect(root) {
    return (await categoryRoots(root, isDagmClass)).length > 0;
  },
  async load(root, opts) {
    const cats = await categoryRoots(root, isDagmClass);
    const samples: Sample[] = [];
    const problems: DatasetProblem[] = [];
    for (const [category, catRoot] of cats) {
      for (const [dirName, split] of SPLIT_DIRS) {
        const dir = join(catRoot, dirName);
        const labelDir = join(dir, 'Label');
        const labelsTxt = join(labelDir, 'Labels.txt');
        const images = await listImages(dir);
        if (images.length === 0) continue;
        const labelFiles = new Set((await listDir(labelDir)).files);
        let table: ReturnType<typeof parseDagmLabels> | null = null;
        if (await isFile(labelsTxt)) table = parseDagmLabels(await readFile(labelsTxt, 'utf8'));
        else {
          problems.push({ kind: 'other', path: labelsTxt, message: 'Labels.txt not found; labels taken from the presence of <n>_label.PNG' });
        }
        for (const f of images) {
          const imagePath = join(dir, f);
          const base = { category, split, imagePath, relId: relIdOf(catRoot, imagePath) };
          const row = table?.get(f);
          const guess = [`${stem(f)}_label.PNG`, `${stem(f)}_label.png`].find((n) => labelFiles.has(n));
          const labelFile = row?.labelFile && labelFiles.has(row.labelFile) ? row.labelFile : guess;
          const defective = row ? row.defective : !!guess;
          if (table && !row) {
            problems.push({ kind: 'other', path: imagePath, message: 'image not listed in Labels.txt; label taken from the presence of its _label file' });
          }
          if (!defective) {
            samples.push({ ...base, maskPath: null, label: 'normal', defectType: 'good' });
          } else if (labelFile) {
            samples.push({ ...base, maskPath: join(labelDir, labelFile), label: 'anomalous', defectType: 'defect' });
          } else {
            problems.push(missingMask(imagePath, join(labelDir, row?.labelFile ?? `${stem(f)}_label.PNG`)));
            if (opts.includeUnmasked) samples.push({ ...base, maskPath: null, label: 'anomalous', defectType: 'defect' });
          }
        }
      }
    }
    const categories = [...new Set(samples.map((s) => s.category))];
    return { categories: cats.map(([c]) => c).filter((c) => categories.includes(c)), samples, problems };
  },
};
