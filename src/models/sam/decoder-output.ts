/**
 * Which mask token a decoder file is to be read through, as the file says itself in its ONNX
 * metadata (`iapas.output`). `iapas tune` with tune.output=single trains token 0 (SAM's
 * single-mask output) but merges its LoRA into the export's graph, whose own choice for a box is
 * the best multimask output by predicted IoU: read as exported, the tuned decoder would return a
 * token it was not trained for. The key makes the SAM model return token 0 for it, with no flag
 * to remember; the key is in the file, so its sha256 (every cache key of its masks) covers it.
 */
import onnxProto from 'onnx-proto';
import { UserError } from '../../util/errors.js';

const { onnx } = onnxProto;

export const OUTPUT_KEY = 'iapas.output';
export const DECODER_OUTPUTS_READ = ['export', 'single'] as const;
export type DecoderOutputRead = (typeof DECODER_OUTPUTS_READ)[number];

/** The metadata of an ONNX model file (empty when the bytes are not ONNX: the session loader says why). */
export function onnxMetadata(bytes: Uint8Array): Map<string, string> {
  try {
    return new Map((onnx.ModelProto.decode(bytes).metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  } catch {
    return new Map();
  }
}

/** A copy of the model with these metadata entries set (replacing entries of the same key). */
export function withMetadata(bytes: Uint8Array, props: Record<string, string>): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  model.metadataProps = [...(model.metadataProps ?? []).filter((p) => !(p.key && p.key in props)), ...Object.entries(props).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }))];
  return onnx.ModelProto.encode(model).finish();
}

/** 'single' when the file (its bytes, or its metadata read once) asks to be read through token 0; 'export' (its own output) otherwise. */
export function decoderOutputOf(file: Uint8Array | Map<string, string>, path: string): DecoderOutputRead {
  const v = (file instanceof Map ? file : onnxMetadata(file)).get(OUTPUT_KEY);
  if (v === undefined || v === 'export') return 'export';
  if (v === 'single') return 'single';
  throw new UserError(`SAM decoder ${path}: metadata ${OUTPUT_KEY}=${v} is not one of ${DECODER_OUTPUTS_READ.join(', ')} (written by a newer iapas?)`);
}
