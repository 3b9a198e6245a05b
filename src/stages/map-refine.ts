/**
 * From a raw anomaly map to the final map and its masks: the method thresholds the map, prompts
 * SAM with each region and combines map and masks (src/methods/fewshot/algorithm.ts); this stage
 * records the regions as SAM prompts, their masks and the threshold that made them.
 */
import { boxArea } from '../image/box.js';
import type { Box, Point, RgbImage } from '../image/types.js';
import type { ImageState, Stage } from '../pipeline/types.js';

export interface RefinedRegion {
  box: Box;
  points: Point[];
  /** Highest raw-map value in the region. */
  peak: number | null;
  /** 0/1 at image size. */
  mask: Uint8Array;
  /** SAM's predicted IoU; null when the region itself stood in for an empty SAM mask. */
  iou: number | null;
}

export interface MapRefinement {
  map: Float32Array;
  threshold: number;
  thresholdPolicy: string;
  regions: RefinedRegion[];
  /** The SAM refinement policy and the decoder calls it made, when it is more than one decode per prompt. */
  samRefine?: { policy: string; decoderCalls: number };
}

export interface MapRefiner<M> {
  refine(image: RgbImage, rawMap: Float32Array, memory: M): Promise<MapRefinement>;
}

export function mapRefineStage<M>(refiner: MapRefiner<M>): Stage<ImageState<M>> {
  return {
    name: 'sam-refine',
    reads: ['image', 'rawMap', 'category'],
    writes: ['samPrompts', 'masks', 'map', 'notes'],
    async run(s) {
      const image = s.image!;
      const r = await refiner.refine(image, s.rawMap!, s.category.memory!);
      return {
        samPrompts: r.regions.map((g) => ({ from: 'map' as const, box: g.box, peak: g.peak, kept: true, area: boxArea(g.box, image.width, image.height) })),
        masks: r.regions.map((g) => g.mask),
        map: r.map,
        notes: {
          threshold: r.threshold,
          threshold_policy: r.thresholdPolicy,
          points: r.regions.map((g) => g.points[0]),
          sam_iou: r.regions.map((g) => g.iou),
          ...(r.samRefine ? { sam_refine: r.samRefine.policy, sam_decoder_calls: r.samRefine.decoderCalls } : {}),
        },
      };
    },
  };
}
