/**
 * The image, box and point types every module speaks.
 *
 * Coordinates are original-image pixels, x = column and y = row, as SAM's prompt encoder takes
 * them (its decoder adds the half-pixel offset itself): a point [x, y] names the pixel at column
 * x, row y. A box [x1, y1, x2, y2] names its first and last covered pixel, both inclusive, as
 * torchvision's masks_to_boxes gives it for a region; boxes a detector predicts are continuous
 * and are passed on as they come (as the IAP-AS reference passes Grounding DINO's boxes to SAM).
 */

/** Interleaved 8-bit RGB, row-major, width * height * 3 values. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** [x1, y1, x2, y2]: top-left and bottom-right pixel, inclusive (see the file comment). */
export type Box = [x1: number, y1: number, x2: number, y2: number];

/** [x, y]: column and row of a pixel. */
export type Point = [x: number, y: number];
