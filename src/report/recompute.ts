/**
 * Curves for a metrics.json written before the evaluation stored them: the run directory's maps and
 * the dataset's masks go through the evaluation protocol again (CategoryEvaluator with the options
 * metrics.json records), which yields the curves and the map range, and the metrics too, so the
 * report can say when the maps no longer give the numbers metrics.json holds.
 */
import { CategoryEvaluator, resolveProtocol, type CategoryMetrics } from '../evaluation/protocol.js';
import type { ReportOptions } from '../evaluation/metrics-files.js';
import { loadMask } from '../image/io.js';
import type { ImageRecord } from '../run-directory/records.js';
import { RunDir } from '../run-directory/run-dir.js';

export async function recomputeCategory(runDir: string, category: string, records: ImageRecord[], o: ReportOptions): Promise<CategoryMetrics> {
  const evaluated = records.filter((r) => (o.normal_images_resolved ?? o.normal_images) !== 'skip' || r.label === 'anomalous');
  const dir = new RunDir(runDir);
  const ev = new CategoryEvaluator(
    category,
    evaluated.length,
    resolveProtocol({ resolution: o.resolution, normalize: o.normalize, aupro: o.aupro === 'exact' ? 'exact' : 'grid', fprLimit: o.fpr_limit }),
  );
  for (const rec of evaluated) {
    const map = await dir.readMap(category, rec.relId).catch(() => null);
    if (!map) continue; // missing maps are left out, as the evaluation leaves them out
    ev.add(rec.relId, rec.label === 'anomalous', map, rec.maskPath ? await loadMask(rec.maskPath) : null);
  }
  return ev.finish();
}
