/**
 * Whether an image shows one object on a plain ground or a surface that fills the frame, from
 * how busy its border is against its centre. An object photographed on a plain background leaves
 * the image border calm (few edges), while the centre holds the object's outline and detail; a
 * texture, a tiled surface or a strip of material is about as busy at the border as in the
 * centre, whatever its orientation or lighting gradient. The figure is a ratio of the image to
 * itself, so exposure and contrast cancel, and the bands are rings around the centre, so a turn
 * of the image about its centre barely moves it.
 *
 * Pure maths on a gray thumbnail; the thumbnail keeps the image's aspect (no padding, which
 * would be a calm border of its own).
 */
import { grayBoxMean } from './gray.js';
import type { RgbImage } from './types.js';

export interface Framing {
  /** Mean gradient magnitude in the centre over that in the border band (about 1 for a stationary texture). */
  detail: number;
}

/** Border band and centre, as fractions of each side: the band is the outer `band` of the frame, the centre the middle `centre`. */
export interface FramingBands {
  band: number;
  centre: number;
}

const DEFAULT_FRAMING_BANDS: FramingBands = { band: 0.12, centre: 0.5 };

/** Box-filtered gray image whose longer side is at most `size` (aspect kept, no padding). */
function grayReduced(img: RgbImage, size: number): { width: number; height: number; data: Float32Array } {
  const { width: w, height: h } = img;
  const scale = Math.min(1, size / Math.max(w, h));
  const tw = Math.max(1, Math.round(w * scale));
  const th = Math.max(1, Math.round(h * scale));
  return { width: tw, height: th, data: grayBoxMean(img, tw, th) };
}

/**
 * The framing figures of a gray image (row-major, `width` x `height`). Pixels in the outer
 * `band` of either side are border, pixels in the middle `centre` of both sides are centre.
 */
export function framingOfGray(gray: Float32Array, width: number, height: number, bands: FramingBands = DEFAULT_FRAMING_BANDS): Framing {
  const bx = Math.max(1, Math.round(bands.band * width));
  const by = Math.max(1, Math.round(bands.band * height));
  const cx0 = Math.floor(((1 - bands.centre) / 2) * width);
  const cx1 = Math.ceil(((1 + bands.centre) / 2) * width);
  const cy0 = Math.floor(((1 - bands.centre) / 2) * height);
  const cy1 = Math.ceil(((1 + bands.centre) / 2) * height);
  let gB = 0;
  let nB = 0;
  let gC = 0;
  let nC = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      // Central differences: the gradient of the image itself, not of its one-pixel steps.
      const g = Math.hypot(gray[i + 1] - gray[i - 1], gray[i + width] - gray[i - width]);
      if (x < bx || x >= width - bx || y < by || y >= height - by) {
        gB += g;
        nB++;
      } else if (x >= cx0 && x < cx1 && y >= cy0 && y < cy1) {
        gC += g;
        nC++;
      }
    }
  }
  if (nB === 0 || nC === 0) return { detail: 1 };
  // A flat border (an object on a perfectly even ground) makes the ratio as large as it gets, not infinite.
  return { detail: gC / nC / Math.max(gB / nB, 1e-6) };
}

const FRAMING_SIZE = 128;

export function framing(img: RgbImage, size = FRAMING_SIZE, bands: FramingBands = DEFAULT_FRAMING_BANDS): Framing {
  const g = grayReduced(img, size);
  return framingOfGray(g.data, g.width, g.height, bands);
}
