/**
 * The frozen half of SAM's prompt encoder, as pure functions on typed arrays: the random-Fourier
 * positional encoding of points and of the 64x64 embedding grid, and the sparse (point/box)
 * embedding. Prompts are not tuned, so these run once per prompt outside autodiff.
 *
 * Token order everywhere in src/tuning: the 64x64 grid flattened row-major, index y * 64 + x,
 * one row of 256 channels per token.
 */
import type { DecoderWeights } from '../models/sam/decoder-weights.js';

export const GRID = 64;
export const CHANNELS = 256;
const IMAGE_SIZE = 1024;

function tensor(w: DecoderWeights, name: string): Float32Array {
  const t = w.byModule.get(name);
  if (!t) throw new Error(`SAM decoder: no weight for ${name}`);
  return t.data;
}

/** sin/cos of 2*pi*((2c - 1) @ G) for coords c in [0, 1]^2, G [2, 128]: 256 values per point. */
function fourier(gaussian: Float32Array, cx: number, cy: number, out: Float32Array, at: number): void {
  const half = gaussian.length / 2;
  const x = 2 * cx - 1;
  const y = 2 * cy - 1;
  for (let j = 0; j < half; j++) {
    const a = 2 * Math.PI * (x * gaussian[j] + y * gaussian[half + j]);
    out[at + j] = Math.sin(a);
    out[at + half + j] = Math.cos(a);
  }
}

/** The dense positional encoding of the embedding grid, [4096, 256] in token order. */
export function densePositionalEncoding(w: DecoderWeights): Float32Array {
  const g = tensor(w, 'model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix');
  const out = new Float32Array(GRID * GRID * CHANNELS);
  for (let y = 0; y < GRID; y++) {
    for (let x = 0; x < GRID; x++) fourier(g, (x + 0.5) / GRID, (y + 0.5) / GRID, out, (y * GRID + x) * CHANNELS);
  }
  return out;
}

/**
 * The sparse prompt embedding [N, 256] of N points in the 1024 model frame with SAM's labels
 * (-1 padding, 0 background, 1 foreground, 2/3 box corners), as SamOnnxModel._embed_points.
 */
export function sparseEmbedding(w: DecoderWeights, coords: Float32Array, labels: Float32Array): Float32Array {
  const g = tensor(w, 'model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix');
  const notAPoint = tensor(w, 'model.prompt_encoder.not_a_point_embed.weight');
  const kinds = [0, 1, 2, 3].map((i) => tensor(w, `model.prompt_encoder.point_embeddings.${i}.weight`));
  const n = labels.length;
  const out = new Float32Array(n * CHANNELS);
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    const at = i * CHANNELS;
    if (label === -1) {
      out.set(notAPoint, at);
      continue;
    }
    fourier(g, (coords[2 * i] + 0.5) / IMAGE_SIZE, (coords[2 * i + 1] + 0.5) / IMAGE_SIZE, out, at);
    const add = kinds[label];
    if (!add) throw new Error(`SAM prompt: point label ${label} is not one of -1, 0, 1, 2, 3`);
    for (let c = 0; c < CHANNELS; c++) out[at + c] += add[c];
  }
  return out;
}

/** An image embedding [256, 64, 64] (channel-major, as the encoder returns it) in token order [4096, 256]. */
export function embeddingTokens(embedding: Float32Array): Float32Array {
  const plane = GRID * GRID;
  if (embedding.length !== plane * CHANNELS) throw new Error(`SAM embedding: expected ${plane * CHANNELS} values, got ${embedding.length}`);
  const out = new Float32Array(embedding.length);
  for (let c = 0; c < CHANNELS; c++) {
    for (let p = 0; p < plane; p++) out[p * CHANNELS + c] = embedding[c * plane + p];
  }
  return out;
}

/**
 * Low-res logits kept in phase order, [4096 tokens, 2x2 phases, 2x2 phases] (what the decoder's
 * two stride-2 upsamplings produce without interleaving), to the 256x256 row-major plane: pixel
 * (4y + 2a + c, 4x + 2b + d) sits at token y*64+x, phase (a,b), sub-phase (c,d). The same order
 * is what the mask prompt's two stride-2 convolutions read, so a 256x256 plane goes back with
 * `toPhaseOrder`.
 */
export function fromPhaseOrder(phase: Float32Array): Float32Array {
  const at = phasePixel();
  const out = new Float32Array(at.length);
  for (let i = 0; i < at.length; i++) out[at[i]] = phase[i];
  return out;
}

/** The inverse of `fromPhaseOrder`: a 256x256 row-major plane to phase order. */
export function toPhaseOrder(plane: Float32Array): Float32Array {
  const at = phasePixel();
  if (plane.length !== at.length) throw new Error(`phase order: expected ${GRID * 4}x${GRID * 4} values, got ${plane.length}`);
  const out = new Float32Array(plane.length);
  for (let i = 0; i < at.length; i++) out[i] = plane[at[i]];
  return out;
}

let phasePixels: Int32Array | undefined;

/** For each phase-order position, its pixel in the 256x256 row-major plane (computed once). */
function phasePixel(): Int32Array {
  if (phasePixels) return phasePixels;
  const side = GRID * 4;
  const at = new Int32Array(side * side);
  let i = 0;
  for (let y = 0; y < GRID; y++) {
    for (let x = 0; x < GRID; x++) {
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          for (let c = 0; c < 2; c++) {
            for (let d = 0; d < 2; d++) at[i++] = (4 * y + 2 * a + c) * side + 4 * x + 2 * b + d;
          }
        }
      }
    }
  }
  phasePixels = at;
  return at;
}
