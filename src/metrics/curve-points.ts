/**
 * Which points of a long polyline (a ROC, PR or PRO curve with up to millions of thresholds) to
 * keep so that at most `maxPoints` remain and the curve drawn through them looks the same.
 *
 * Two steps, in the plotted unit square (x and y scaled by their plot ranges, so a deviation
 * means the same on both axes):
 *  1. arc-length pre-thinning: one candidate per 1/M of the curve's length, M = preThin x maxPoints
 *     (plus the required points), which bounds the cost of step 2 whatever the input length;
 *  2. budgeted Ramer-Douglas-Peucker: start from the required points and repeatedly split the
 *     segment whose farthest candidate lies farthest from its chord, until the budget is used.
 * Curves are drawn with straight segments between kept points, so the visual error is the
 * largest chord deviation left.
 */

/** Max-heap on `key`: the RDP queue of segments, largest deviation first. */
class MaxHeap<T extends { key: number }> {
  private readonly a: T[] = [];

  get size(): number {
    return this.a.length;
  }

  push(v: T): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].key >= a[i].key) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].key > a[m].key) m = l;
        if (r < a.length && a[r].key > a[m].key) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

export interface SelectOptions {
  maxPoints: number;
  /** Indices that must be kept (e.g. the F1-max point); the first and last always are. */
  keep?: number[];
  /** Plot ranges that scale the coordinates (default [0, 1] each). */
  xRange?: [number, number];
  yRange?: [number, number];
  /** Arc-length pre-thinning target as a multiple of maxPoints (default 16). */
  preThin?: number;
}

/**
 * Ascending indices of at most max(maxPoints, required points) points of the polyline
 * (x[i], y[i]): both ends, every `keep` index, then the points that most reduce the largest chord
 * deviation.
 */
export function selectCurvePoints(x: ArrayLike<number>, y: ArrayLike<number>, opts: SelectOptions): number[] {
  const n = x.length;
  if (y.length !== n) throw new Error(`selectCurvePoints: x has ${n} values, y ${y.length}`);
  if (n === 0) return [];
  const must = new Set<number>([0, n - 1, ...(opts.keep ?? []).filter((i) => i >= 0 && i < n)]);
  const max = Math.max(opts.maxPoints, must.size);
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const [x0, x1] = opts.xRange ?? [0, 1];
  const [y0, y1] = opts.yRange ?? [0, 1];
  const sx = x1 > x0 ? 1 / (x1 - x0) : 1;
  const sy = y1 > y0 ? 1 / (y1 - y0) : 1;
  const X = (i: number) => (x[i] - x0) * sx;
  const Y = (i: number) => (y[i] - y0) * sy;

  // 1. Arc-length pre-thinning.
  let total = 0;
  for (let i = 1; i < n; i++) total += Math.hypot(X(i) - X(i - 1), Y(i) - Y(i - 1));
  const M = Math.max(max, Math.round((opts.preThin ?? 16) * max));
  let cand: number[];
  if (n <= M || total === 0) {
    cand = Array.from({ length: n }, (_, i) => i);
  } else {
    cand = [];
    const step = total / M;
    let acc = 0;
    let next = 0;
    for (let i = 0; i < n; i++) {
      if (i > 0) acc += Math.hypot(X(i) - X(i - 1), Y(i) - Y(i - 1));
      if (acc >= next || must.has(i)) {
        cand.push(i);
        if (acc >= next) next = (Math.floor(acc / step) + 1) * step;
      }
    }
    if (cand[cand.length - 1] !== n - 1) cand.push(n - 1);
  }
  if (cand.length <= max) return cand;

  // 2. Budgeted Ramer-Douglas-Peucker over the candidates, from the required points.
  const pos = new Map<number, number>();
  cand.forEach((c, k) => pos.set(c, k));
  const chosen = [...must].sort((a, b) => a - b).map((i) => pos.get(i)!);
  const heap = new MaxHeap<{ key: number; a: number; b: number; at: number }>();
  const farthest = (a: number, b: number) => {
    const ax = X(cand[a]);
    const ay = Y(cand[a]);
    const dx = X(cand[b]) - ax;
    const dy = Y(cand[b]) - ay;
    const len = Math.hypot(dx, dy);
    let best = -1;
    let at = -1;
    for (let k = a + 1; k < b; k++) {
      const px = X(cand[k]) - ax;
      const py = Y(cand[k]) - ay;
      const d = len > 0 ? Math.abs(px * dy - py * dx) / len : Math.hypot(px, py);
      if (d > best) {
        best = d;
        at = k;
      }
    }
    if (at >= 0) heap.push({ key: best, a, b, at });
  };
  for (let k = 1; k < chosen.length; k++) farthest(chosen[k - 1], chosen[k]);
  const picked = new Set(chosen);
  while (picked.size < max && heap.size > 0) {
    const s = heap.pop()!;
    if (s.key <= 0) break;
    picked.add(s.at);
    farthest(s.a, s.at);
    farthest(s.at, s.b);
  }
  return [...picked].sort((a, b) => a - b).map((k) => cand[k]);
}
