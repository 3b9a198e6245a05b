/**
 * Runs the protocol over a dataset: per category, select the test images, feed each one's map
 * (from any source) and mask into a CategoryEvaluator, and summarise. `evaluateMaps` is the
 * generic entry (the pipeline passes a loader over its run directory); `evaluateMapsFolder` reads
 * maps from files named after the samples.
 */
import { basename, join } from 'node:path';
import type { DatasetIndex, Sample } from '../datasets/types.js';
import { GroundTruthStore } from './ground-truth.js';
import { UserError } from '../util/errors.js';
import { createProgress } from '../util/progress.js';
import { findMapFile, listMapFiles, mapFileIds, readMapFile } from './map-files.js';
import {
  CategoryEvaluator,
  type CategoryMetrics,
  checkEvaluationMemory,
  type MapInput,
  type PreparedMask,
  type ProtocolOptions,
  resolveProtocol,
  selectTestSamples,
} from './protocol.js';
import { type EvaluationProblems, type EvaluationReport, meanOverCategories, reportOptions, type SizeMismatch } from './metrics-files.js';

export interface EvaluateMapsParams {
  dataset: DatasetIndex;
  /** Default: every category of the dataset. */
  categories?: string[];
  options?: Partial<ProtocolOptions>;
  /** Name that decides normal_images 'reference' (default: the dataset root's folder name). */
  datasetName?: string;
  /**
   * The map of a sample, or null when there is none (reported as missing). A UserError (an
   * unreadable map file) leaves the image out and lists it under problems.unreadable.
   */
  loadMap: (sample: Sample) => Promise<MapInput | null>;
  /** A name for a sample's map in reports (default `<category>/<relId>`). */
  mapName?: (sample: Sample) => string;
  /** Compare each map's and mask's size with its image's and report differences (default true). */
  checkSizes?: boolean;
  /** Where the maps came from, recorded in the report. */
  mapsLabel?: string | null;
  quiet?: boolean;
  /**
   * Masks and image sizes prepared for the evaluation grid, kept between calls (a sweep passes
   * one store to every run); by default they are read for this call only.
   */
  groundTruth?: GroundTruthStore;
}

export async function evaluateMaps(p: EvaluateMapsParams): Promise<EvaluationReport> {
  const options = resolveProtocol(p.options);
  const gt = p.groundTruth ?? new GroundTruthStore({ maxBytes: 0 });
  const ds = p.dataset;
  const categories = p.categories?.length ? p.categories : ds.categories;
  const unknown = categories.filter((c) => !ds.categories.includes(c));
  if (unknown.length) throw new UserError(`unknown categor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')} (dataset has: ${ds.categories.join(', ')})`);
  const name = p.datasetName ?? basename(ds.root);
  const mapName = p.mapName ?? ((s: Sample) => `${s.category}/${s.relId}`);
  const problems: EvaluationProblems = { missing_maps: [], extra_maps: [], size_mismatch: [], unreadable: [], dataset: ds.problems };
  const rows: CategoryMetrics[] = [];
  let resolved: 'include' | 'skip' = 'include';
  const selections = categories.map((category) => ({ category, sel: selectTestSamples(ds.samples, category, options.normalImages, { root: ds.root, layout: ds.layout, name }) }));
  // Before any map is read: a category too large for memory is refused with an estimate.
  for (const { category, sel } of selections) checkEvaluationMemory(category, sel.samples.length, options);
  for (const { category, sel } of selections) {
    resolved = sel.normalImages;
    const ev = new CategoryEvaluator(category, sel.samples.length, options);
    const progress = createProgress(`evaluate ${category}`, sel.samples.length, { quiet: p.quiet });
    let missing = 0;
    let unreadable = 0;
    const mismatched: SizeMismatch[] = [];
    for (const s of sel.samples) {
      progress.tick();
      // A file that cannot be read (a corrupt mask or map) leaves this image out, not the run.
      let reading = s.maskPath ?? s.imagePath;
      let map: MapInput | null;
      let mask: PreparedMask | null;
      try {
        reading = mapName(s);
        map = await p.loadMap(s);
        if (!map) {
          problems.missing_maps.push(mapName(s));
          missing++;
          continue;
        }
        reading = s.maskPath ?? s.imagePath;
        mask = s.maskPath ? await gt.mask(s.maskPath, options.resolution) : null;
        if (p.checkSizes !== false) {
          reading = s.imagePath;
          const image = await gt.imageSize(s.imagePath);
          const mapOff = image.width !== map.width || image.height !== map.height;
          const maskOff = !!mask && (image.width !== mask.width || image.height !== mask.height);
          if (mapOff || maskOff) {
            mismatched.push({
              map: mapName(s),
              map_size: [map.width, map.height],
              image_size: [image.width, image.height],
              ...(mask ? { mask_size: [mask.width, mask.height] as [number, number] } : {}),
            });
          }
        }
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        problems.unreadable.push({ map: mapName(s), path: reading, error: err.message });
        unreadable++;
        continue;
      }
      ev.add(mapName(s), s.label === 'anomalous', map, mask);
    }
    progress.stop();
    const row = ev.finish();
    if (missing) row.notes.push(`${missing} of ${sel.samples.length} test images have no map and were left out`);
    if (unreadable) row.notes.push(`${unreadable} of ${sel.samples.length} test images were left out: a file could not be read (problems.unreadable)`);
    if (mismatched.length) row.notes.push(`${mismatched.length} map(s) or mask(s) differ in size from their image (resized like every map)`);
    problems.size_mismatch.push(...mismatched);
    rows.push(row);
  }
  return {
    tool: 'iapas evaluate',
    created: new Date().toISOString(),
    dataset: { root: ds.root, layout: ds.layout, name },
    maps: p.mapsLabel ?? null,
    options: reportOptions(options, resolved),
    categories: rows,
    mean: meanOverCategories(rows),
    problems,
  };
}

export interface EvaluateFolderParams extends Omit<EvaluateMapsParams, 'loadMap' | 'mapName' | 'mapsLabel'> {
  mapsDir: string;
}

/** Evaluates maps stored as `<mapsDir>/<category>/<relId>.npy|png`; lists missing and extra files. */
export async function evaluateMapsFolder(p: EvaluateFolderParams): Promise<EvaluationReport> {
  const found = new Map<string, string>();
  const report = await evaluateMaps({
    ...p,
    mapsLabel: p.mapsDir,
    loadMap: async (s) => {
      const file = await findMapFile(p.mapsDir, s.category, s.relId);
      if (!file) return null;
      found.set(`${s.category}/${s.relId}`, file);
      return readMapFile(file);
    },
  });
  const expected = report.categories.reduce((a, c) => a + c.n_images, 0) + report.problems.missing_maps.length;
  if (found.size === 0 && expected > 0) {
    const ex = report.problems.missing_maps[0];
    throw new UserError(`no maps found under ${p.mapsDir} for any of the ${expected} test images (expected e.g. ${ex}.npy or .png there)`);
  }
  // Extra: files matching no test image of the dataset (maps of skipped normal images are not extra).
  const known = new Map<string, string>(); // file id -> `<category>/<relId>`
  for (const s of p.dataset.samples) if (s.split === 'test') for (const id of mapFileIds(s.category, s.relId)) known.set(id, `${s.category}/${s.relId}`);
  const evaluatedDirs = new Set(report.categories.flatMap((c) => mapFileIds(c.category, 'x').map((id) => id.split('/')[0])));
  const filtered = Boolean(p.categories?.length);
  for (const rel of await listMapFiles(p.mapsDir)) {
    const id = rel.replace(/\.(npy|png)$/i, '');
    // With --categories, files of the categories left out are neither used nor extra.
    if (filtered && !evaluatedDirs.has(id.split('/')[0])) continue;
    const owner = known.get(id);
    if (owner === undefined) report.problems.extra_maps.push(rel);
    else if (found.has(owner) && found.get(owner) !== join(p.mapsDir, ...rel.split('/'))) report.problems.extra_maps.push(`${rel} (ignored: another file of this image was used)`);
  }
  return report;
}
