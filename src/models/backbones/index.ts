import type { SamModel } from '../sam/model.js';
import type { DiskCache } from '../../util/disk-cache.js';
import { backboneEntry, type BackboneEntry } from './entries.js';
import { OnnxCnnBackbone } from './onnx-cnn.js';
import { SamEncoderBackbone } from './sam-encoder.js';
import { SamInnerBackbone } from './sam-inner.js';
import type { Backbone } from './types.js';

export * from './types.js';
export * from './entries.js';
export { OnnxCnnBackbone } from './onnx-cnn.js';
export { SamEncoderBackbone } from './sam-encoder.js';
export { SamInnerBackbone } from './sam-inner.js';

/**
 * Loads a backbone by name or entry. The SAM backbones share the caller's SamModel (one encoder
 * pass per image, and its embedding cache serves both the features and the SAM refinement).
 */
export async function loadBackbone(
  nameOrEntry: string | BackboneEntry,
  opts: { sam?: SamModel; modelsDir?: string; threads?: number; cache?: DiskCache } = {},
): Promise<Backbone> {
  const entry = typeof nameOrEntry === 'string' ? backboneEntry(nameOrEntry) : nameOrEntry;
  if (entry.kind === 'onnx-cnn') return OnnxCnnBackbone.load(entry, opts);
  if (!opts.sam) throw new Error(`backbone '${entry.name}' needs a loaded SamModel (opts.sam)`);
  if (entry.kind === 'sam-inner') return new SamInnerBackbone(entry, opts.sam, opts.cache).open();
  return new SamEncoderBackbone(entry, opts.sam);
}
