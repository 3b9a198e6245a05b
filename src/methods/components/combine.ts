/**
 * How the feature map and the SAM masks become the final anomaly map.
 *
 * final = map * (1 + boost * union), with union the 0/1 union of the kept SAM masks. Inside a
 * mask pixels rise by a factor (1 + boost); outside, and among pixels of the same side, the
 * feature map's order is kept, so pixel AUROC/AP still rank by the feature evidence, while SAM's
 * sharp boundaries separate defect pixels from their surroundings. With no masks the map is
 * unchanged (a normal image keeps its low scores rather than a constant).
 *
 * SAM masks are first clipped to their prompt box grown by a margin (image/masks.ts
 * clipMaskToBox): a box-prompted mask that leaks far outside its box has segmented the object,
 * not the defect.
 */
export function combineMapWithMasks(map: Float32Array, union: Uint8Array | null, boost = 1): Float32Array {
  const out = new Float32Array(map.length);
  for (let i = 0; i < map.length; i++) out[i] = union && union[i] ? map[i] * (1 + boost) : map[i];
  return out;
}
