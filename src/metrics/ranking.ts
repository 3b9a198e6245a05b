/**
 * The one sorted pass that AUROC, AP, F1-max and the exact AUPRO share.
 *
 * Scores are split by label and turned into order-preserving uint32 keys (the float32 bit pattern
 * with the sign handled), each side is radix-sorted, and the two sorted lists are merged from the
 * top score down. Every distinct score is one threshold ("predict anomalous when score >= t"),
 * exactly as sklearn's `_binary_clf_curve` groups ties; the visitor sees the cumulative counts after
 * each threshold. Counting is done in integers, so ties and large pixel sets lose no precision.
 *
 * A JS comparator sort of 32M pairs takes tens of seconds; a native Float32Array sort of 32M
 * values about 3 s on this machine; this radix sort about a third of that.
 */

/** Thrown for inputs no metric can be defined on (NaN scores, mismatched lengths). */
export class MetricInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricInputError';
  }
}

const SIGN = 0x80000000;

/** Order-preserving key of a float32 bit pattern; -0 is folded onto +0 so that they tie. */
function keyOfBits(b: number): number {
  if (b === SIGN) return SIGN; // -0
  return (b & SIGN) !== 0 ? ~b >>> 0 : (b | SIGN) >>> 0;
}

/** Inverse of the key, back to the float32 value (as a JS number). */
export function keyToScore(k: number): number {
  const b = (k & SIGN) !== 0 ? (k & 0x7fffffff) >>> 0 : ~k >>> 0;
  KEY_U32[0] = b;
  return KEY_F32[0];
}
const KEY_F32 = new Float32Array(1);
const KEY_U32 = new Uint32Array(KEY_F32.buffer);

/**
 * The key below which (inclusive) a float32 score s does NOT pass `s > t`, for any double t:
 * s > t holds exactly when key(s) > thresholdKey(t).
 */
export function thresholdKey(t: number): number {
  KEY_F32[0] = t;
  const f = KEY_F32[0];
  const k = keyOfBits(KEY_U32[0]);
  return f > t ? k - 1 : k;
}

/** Number of entries of an ascending key array that are > k. */
export function countAbove(keys: Uint32Array, k: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] > k) hi = mid;
    else lo = mid + 1;
  }
  return keys.length - lo;
}

/** Histograms of the three radix digits (11, 11, 10 bits) of a set of keys. */
export type DigitCounts = [Uint32Array, Uint32Array, Uint32Array];

function newDigitCounts(): DigitCounts {
  return [new Uint32Array(2048), new Uint32Array(2048), new Uint32Array(2048)];
}

function countDigits(c: DigitCounts, k: number): void {
  c[0][k & 0x7ff]++;
  c[1][(k >>> 11) & 0x7ff]++;
  c[2][k >>> 22]++;
}

/**
 * LSD radix sort of uint32 keys in place (11+11+10 bits), carrying an optional payload along.
 * Passes whose digit is the same for every key are skipped (common for scores in [0, 1]).
 */
export function radixSortU32(keys: Uint32Array, payload?: Uint32Array, digitCounts?: DigitCounts): void {
  const n = keys.length;
  if (n < 2) return;
  if (payload && payload.length !== n) throw new Error('radixSortU32: payload length differs from keys');
  const shifts = [0, 11, 22];
  const masks = [0x7ff, 0x7ff, 0x3ff];
  const counts = digitCounts ?? newDigitCounts();
  if (!digitCounts) for (let i = 0; i < n; i++) countDigits(counts, keys[i]);
  let src: Uint32Array = keys;
  let dst: Uint32Array = new Uint32Array(n);
  let psrc: Uint32Array | undefined = payload;
  let pdst: Uint32Array | undefined = payload ? new Uint32Array(n) : undefined;
  for (let pass = 0; pass < 3; pass++) {
    const c = counts[pass];
    const shift = shifts[pass];
    const mask = masks[pass];
    let nonZero = 0;
    for (let d = 0; d <= mask; d++) if (c[d] !== 0) nonZero++;
    if (nonZero === 1) continue;
    let sum = 0;
    for (let d = 0; d <= mask; d++) {
      const t = c[d];
      c[d] = sum;
      sum += t;
    }
    if (psrc && pdst) {
      for (let i = 0; i < n; i++) {
        const k = src[i];
        const pos = c[(k >>> shift) & mask]++;
        dst[pos] = k;
        pdst[pos] = psrc[i];
      }
      const pt = psrc;
      psrc = pdst;
      pdst = pt;
    } else {
      for (let i = 0; i < n; i++) {
        const k = src[i];
        dst[c[(k >>> shift) & mask]++] = k;
      }
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== keys) {
    keys.set(src);
    if (payload && psrc) payload.set(psrc);
  }
}

/** Scores split by label and sorted ascending as keys; positives optionally carry a region index. */
export interface SortedScores {
  neg: Uint32Array;
  pos: Uint32Array;
  /** Region index of each entry of `pos` (same order), when regions were given. */
  posRegion: Uint32Array | null;
  P: number;
  N: number;
}

/**
 * Splits and sorts float32 scores. `labels[i] != 0` marks a positive; `posRegion`, if given, holds
 * the region index of every positive in pixel order. NaN anywhere is an error.
 */
export function sortScores(scores: Float32Array, labels: Uint8Array, posRegion?: Uint32Array): SortedScores {
  if (scores.length !== labels.length) {
    throw new MetricInputError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, scores.length);
  let P = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) P++;
  const N = scores.length - P;
  if (posRegion && posRegion.length !== P) {
    throw new MetricInputError(`posRegion has ${posRegion.length} entries for ${P} positive pixels`);
  }
  const neg = new Uint32Array(N);
  const pos = new Uint32Array(P);
  let a = 0;
  let b = 0;
  // The digit histograms are taken while splitting, which saves the radix sort a pass over the keys.
  const nc = newDigitCounts();
  const pc = newDigitCounts();
  const [n0, n1, n2] = nc;
  for (let i = 0; i < scores.length; i++) {
    const bitsI = bits[i];
    // NaN: exponent all ones, mantissa non-zero.
    if ((bitsI & 0x7f800000) === 0x7f800000 && (bitsI & 0x007fffff) !== 0) {
      throw new MetricInputError(`score ${i} is NaN; metrics are undefined on NaN maps`);
    }
    const k = keyOfBits(bitsI);
    if (labels[i] !== 0) {
      pos[b++] = k;
      countDigits(pc, k);
    } else {
      neg[a++] = k;
      n0[k & 0x7ff]++;
      n1[(k >>> 11) & 0x7ff]++;
      n2[k >>> 22]++;
    }
  }
  const region = posRegion ? Uint32Array.from(posRegion) : null;
  radixSortU32(neg, undefined, nc);
  radixSortU32(pos, region ?? undefined, pc);
  return { neg, pos, posRegion: region, P, N };
}

/**
 * Visits every distinct threshold from the highest score down with the cumulative true and
 * false positive counts (scores >= threshold), and, when `regionWeight` is given, the cumulative
 * sum of regionWeight[region] over the true positives.
 */
export function sweepThresholds(
  s: SortedScores,
  visit: (tp: number, fp: number, weight: number, key: number) => void,
  regionWeight?: Float64Array,
): void {
  const { neg, pos } = s;
  const reg = s.posRegion;
  if (regionWeight && !reg) throw new Error('sweepThresholds: region weights need sorted region indices');
  let i = neg.length - 1;
  let j = pos.length - 1;
  let tp = 0;
  let fp = 0;
  let w = 0;
  while (i >= 0 || j >= 0) {
    const kn = i >= 0 ? neg[i] : -1;
    const kp = j >= 0 ? pos[j] : -1;
    const k = kn > kp ? kn : kp;
    while (i >= 0 && neg[i] === k) {
      fp++;
      i--;
    }
    if (regionWeight && reg) {
      while (j >= 0 && pos[j] === k) {
        tp++;
        w += regionWeight[reg[j]];
        j--;
      }
    } else {
      while (j >= 0 && pos[j] === k) {
        tp++;
        j--;
      }
    }
    visit(tp, fp, w, k);
  }
}

/**
 * The same sweep for a few (image-level) float64 scores: a comparator sort is fine at this size
 * and keeps full double precision. Visits (tp, fp, threshold) per distinct score, descending.
 */
export function sweepSmall(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
  visit: (tp: number, fp: number, threshold: number) => void,
): { P: number; N: number } {
  if (scores.length !== labels.length) {
    throw new MetricInputError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
  const n = scores.length;
  const order = new Uint32Array(n);
  let P = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new MetricInputError(`score ${i} is NaN; metrics are undefined on NaN scores`);
    order[i] = i;
    if (labels[i]) P++;
  }
  order.sort((a, b) => scores[b] - scores[a] || 0);
  let tp = 0;
  let fp = 0;
  for (let r = 0; r < n; ) {
    const t = scores[order[r]];
    while (r < n && scores[order[r]] === t) {
      if (labels[order[r]]) tp++;
      else fp++;
      r++;
    }
    visit(tp, fp, t);
  }
  return { P, N: n - P };
}
