/**
 * Grounding DINO post-processing as pure functions on typed arrays, so a sweep over box/text/size
 * thresholds re-uses one model output. Behaviour follows the IAP-AS reference (docs/method.md §1) and
 * the IDEA-Research `get_phrases_from_posmap`:
 *   score(q)  = max_t sigmoid(logits[q, t]) over the caption's real tokens;
 *   kept      when score(q) > box_threshold;
 *   phrase(q) = the tokens with probability > text_threshold, first ([CLS]) and >= 255 excluded,
 *               decoded as BERT wordpieces. Special tokens and '.' are dropped from the phrase (the
 *               IDEA `predict()` also strips '.'), so phrases group cleanly by name;
 *   boxes     normalised (cx, cy, w, h) -> pixel (x1, y1, x2, y2).
 * What a method then does with the boxes (NMS, the object and anomaly passes, a size filter) is
 * the method's, not the adapter's.
 */
import { cxcywhToXyxy } from '../../image/box.js';

/** One model output for one (image, caption): what the cache stores. */
export interface DetectorRaw {
  numQueries: number;
  /** Caption tokens (input_ids) as fed, including [CLS] and [SEP]. */
  inputIds: number[];
  /** Wordpiece strings of inputIds. */
  tokens: string[];
  /** [numQueries * 4] normalised (cx, cy, w, h). */
  boxes: Float32Array;
  /** [numQueries * inputIds.length] sigmoid probabilities per (query, token). */
  probs: Float32Array;
  /** Size of the image the boxes refer to (original, not resized). */
  imageWidth: number;
  imageHeight: number;
}

export interface Detection {
  /** Pixel (x1, y1, x2, y2) in the original image. */
  box: [number, number, number, number];
  /** Max token probability of the box. */
  score: number;
  phrase: string;
  /** Query index in the raw output. */
  query: number;
}

export interface DetectParams {
  boxThreshold: number;
  textThreshold: number;
  nmsIou: number;
}

export const DEFAULT_DETECT_PARAMS: DetectParams = { boxThreshold: 0.1, textThreshold: 0.1, nmsIou: 0.5 };

const SPECIAL = new Set(['[CLS]', '[SEP]', '[PAD]', '[UNK]', '[MASK]']);
/** IDEA's posmap slicing: position 0 and positions >= 255 never enter a phrase. */
const RIGHT_IDX = 255;

/** Caption as the reference prepares it: lowercase, strip, end with '.'. */
export function prepareCaption(caption: string): string {
  const c = caption.toLowerCase().trim();
  return c.endsWith('.') ? c : `${c}.`;
}

/** BERT wordpieces -> text: '##' pieces glue to the previous one; no space before punctuation. */
export function decodeWordpieces(pieces: string[]): string {
  let out = '';
  for (const p of pieces) {
    if (p.startsWith('##')) out += p.slice(2);
    else if (out === '' || /^[,.!?;:)\]'%]$/.test(p)) out += p;
    else out += ` ${p}`;
  }
  return out.trim();
}

export function phraseOf(raw: DetectorRaw, query: number, textThreshold: number): string {
  const T = raw.inputIds.length;
  textThreshold = Math.fround(textThreshold);
  const pieces: string[] = [];
  for (let t = 1; t < Math.min(T, RIGHT_IDX); t++) {
    if (raw.probs[query * T + t] > textThreshold) {
      const tok = raw.tokens[t];
      if (!SPECIAL.has(tok) && tok !== '.') pieces.push(tok);
    }
  }
  return decodeWordpieces(pieces);
}

export function boxScore(raw: DetectorRaw, query: number): number {
  const T = raw.inputIds.length;
  let m = 0;
  for (let t = 0; t < T; t++) m = Math.max(m, raw.probs[query * T + t]);
  return m;
}

/** Boxes over box_threshold with their phrases, in pixel coordinates, before NMS. */
export function thresholdDetections(raw: DetectorRaw, params: Pick<DetectParams, 'boxThreshold' | 'textThreshold'>): Detection[] {
  const out: Detection[] = [];
  // Probabilities are float32; the reference compares them with the threshold as float32 too.
  const boxThreshold = Math.fround(params.boxThreshold);
  for (let q = 0; q < raw.numQueries; q++) {
    const score = boxScore(raw, q);
    if (!(score > boxThreshold)) continue;
    out.push({
      box: cxcywhToXyxy(raw.boxes.subarray(q * 4, q * 4 + 4), raw.imageWidth, raw.imageHeight),
      score,
      phrase: phraseOf(raw, q, params.textThreshold),
      query: q,
    });
  }
  return out;
}

/** Cache encoding: [u32 header length][header JSON][pad to 4][boxes f32][probs f32]. */
export function encodeRaw(raw: DetectorRaw): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ v: 1, numQueries: raw.numQueries, inputIds: raw.inputIds, tokens: raw.tokens, imageWidth: raw.imageWidth, imageHeight: raw.imageHeight }),
  );
  const start = Math.ceil((4 + header.length) / 4) * 4;
  const out = new Uint8Array(start + raw.boxes.byteLength + raw.probs.byteLength);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  out.set(new Uint8Array(raw.boxes.buffer, raw.boxes.byteOffset, raw.boxes.byteLength), start);
  out.set(new Uint8Array(raw.probs.buffer, raw.probs.byteOffset, raw.probs.byteLength), start + raw.boxes.byteLength);
  return out;
}

export function decodeRaw(bytes: Uint8Array): DetectorRaw {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(0, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + len))) as Omit<DetectorRaw, 'boxes' | 'probs'> & { v: number };
  if (h.v !== 1) throw new Error(`detector cache entry version ${h.v} is not supported`);
  const start = Math.ceil((4 + len) / 4) * 4;
  const body = bytes.slice(start); // copy: aligned for Float32Array
  const nb = h.numQueries * 4;
  const np = h.numQueries * h.inputIds.length;
  if (body.byteLength !== (nb + np) * 4) throw new Error('detector cache entry is truncated');
  return {
    numQueries: h.numQueries,
    inputIds: h.inputIds,
    tokens: h.tokens,
    imageWidth: h.imageWidth,
    imageHeight: h.imageHeight,
    boxes: new Float32Array(body.buffer, 0, nb),
    probs: new Float32Array(body.buffer, nb * 4, np),
  };
}
