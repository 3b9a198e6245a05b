/**
 * How the feature map and the SAM masks become the final anomaly map.
 *
 * final = map * (1 + boost * union), with union the 0/1 union of the kept SAM masks. Inside a
 * mask pixels rise by a factor (1 + boost); outside, and among pixels of the same side, the
 * feature map's order is kept, so pixel AUROC/AP still rank by the feature evidence, while SAM's
 * sharp boundaries separate defect pixels from their surroundings. With no masks the map is
 * unchanged (a normal image keeps its low scores rather than a constant).
 *
 * SAM masks are first clipped to their prompt box grown by a margin: a box-prompted mask that
 * leaks far outside its box has segmented the object, not the defect.
 */

export function clipMaskToBox(
  mask: Uint8Array,
  width: number,
  height: number,
  box: [number, number, number, number],
  margin: number,
): Uint8Array {
  const bw = box[2] - box[0];
  const bh = box[3] - box[1];
  const x0 = Math.max(0, Math.floor(box[0] - margin * bw));
  const y0 = Math.max(0, Math.floor(box[1] - margin * bh));
  const x1 = Math.min(width, Math.ceil(box[2] + margin * bw));
  const y1 = Math.min(height, Math.ceil(box[3] + margin * bh));
  const out = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out[y * width + x] = mask[y * width + x] ? 1 : 0;
  return out;
}

export function combineMapWithMasks(map: Float32Array, union: Uint8Array | null, boost = 1): Float32Array {
  const out = new Float32Array(map.length);
  for (let i = 0; i < map.length; i++) out[i] = union && union[i] ? map[i] * (1 + boost) : map[i];
  return out;
}

export function maskArea(mask: Uint8Array): number {
  let a = 0;
  for (let i = 0; i < mask.length; i++) a += mask[i] ? 1 : 0;
  return a;
}
