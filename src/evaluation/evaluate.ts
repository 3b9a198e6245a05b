/**
 * Runs the protocol over a dataset: per category, select the test images, feed each one's map
 * (from any source) and mask into a CategoryEvaluator, and summarise. `evaluateMaps` is the
 * generic entry (the pipeline passes a loader over its run directory); `evaluateMapsFolder` reads
 * maps from files named after the samples.
 */
import { basename } from 'node:path';
import type { DatasetIndex, Sample } from '../datasets/types.js';
import { GroundTruthStore } from './ground-truth.js';
import { UserError } from '../util/errors.js';
import { createProgress } from '../util/progress.js';
import { findMapFile, listMapFiles, readMapFile } from './map-files.js';
import {
  CategoryEvaluator,
  type CategoryMetrics,
  type MapInput,
  type PreparedMask,
  type ProtocolOptions,
  resolveProtocol,
  selectTestSamples,
} from './protocol.js';
import { type EvaluationProblems, type EvaluationReport, meanOverCategories, reportOptions, type SizeMismatch } from './report.js';

export interface EvaluateMapsParams {
  dataset: DatasetIndex;
  /** Default: every category of the dataset. */
  categories?: string[];
  options?: Partial<ProtocolOptions>;
  /** Name that decides normal_images 'reference' (default: the dataset root's folder name). */
  datasetName?: string;
  /** The map of a sample, or null when there is none (reported as missing). */
  loadMap: (sample: Sample) => Promise<MapInput | null>;
  /** A name for a sample's map in reports (default `<category>/<relId>`). */
  mapName?: (sample: Sample) => string;
  /** Compare each map's size with its image's and report differences (default true). */
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
  const problems: EvaluationProblems = { missing_maps: [], extra_maps: [], size_mismatch: [], dataset: ds.problems };
  const rows: CategoryMetrics[] = [];
  let resolved: 'include' | 'skip' = 'include';
  for (const category of categories) {
    const sel = selectTestSamples(ds.samples, category, options.normalImages, { root: ds.root, layout: ds.layout, name });
    resolved = sel.normalImages;
    const ev = new CategoryEvaluator(category, sel.samples.length, options);
    const progress = createProgress(`evaluate ${category}`, sel.samples.length, { quiet: p.quiet });
    let missing = 0;
    const mismatched: SizeMismatch[] = [];
    for (const s of sel.samples) {
      const map = await p.loadMap(s);
      progress.tick();
      if (!map) {
        problems.missing_maps.push(mapName(s));
        missing++;
        continue;
      }
      const mask: PreparedMask | null = s.maskPath ? await gt.mask(s.maskPath, options.resolution) : null;
      if (p.checkSizes !== false) {
        const size = mask ? { width: mask.width, height: mask.height } : await gt.imageSize(s.imagePath);
        if (size.width !== map.width || size.height !== map.height) {
          mismatched.push({ map: mapName(s), map_size: [map.width, map.height], image_size: [size.width, size.height] });
        }
      }
      ev.add(mapName(s), s.label === 'anomalous', map, mask);
    }
    progress.stop();
    const row = ev.finish();
    if (missing) row.notes.push(`${missing} of ${sel.samples.length} test images have no map and were left out`);
    if (mismatched.length) row.notes.push(`${mismatched.length} map(s) differ in size from their image (resized like every map)`);
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
  const known = new Set(p.dataset.samples.filter((s) => s.split === 'test').map((s) => `${s.category}/${s.relId}`));
  const evaluated = new Set(report.categories.map((c) => c.category));
  const filtered = Boolean(p.categories?.length);
  for (const rel of await listMapFiles(p.mapsDir)) {
    const id = rel.replace(/\.(npy|png)$/i, '');
    // With --categories, files of the categories left out are neither used nor extra.
    if (filtered && !evaluated.has(id.split('/')[0])) continue;
    if (!known.has(id)) report.problems.extra_maps.push(rel);
    else if (found.has(id) && !found.get(id)!.endsWith(rel.split('/').pop()!)) report.problems.extra_maps.push(`${rel} (ignored: .npy preferred)`);
  }
  return report;
}
