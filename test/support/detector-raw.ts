import type { DetectorRaw } from '../../src/models/grounding-dino/postprocess.js';

/** A raw output with hand-set probabilities: rows[q][t] over tokens. */
export function rawOf(tokens: string[], rows: number[][], boxes: number[][], W = 200, H = 100): DetectorRaw {
  return {
    numQueries: rows.length,
    inputIds: tokens.map((_, i) => i + 1000),
    tokens,
    boxes: Float32Array.from(boxes.flat()),
    probs: Float32Array.from(rows.flat()),
    imageWidth: W,
    imageHeight: H,
  };
}
