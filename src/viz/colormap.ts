/**
 * Float map -> RGB heat map. viridis (perceptually uniform, readable in greyscale) is the
 * default; jet is offered because most anomaly-detection papers print their maps in it.
 */

export type ColormapName = 'viridis' | 'jet' | 'gray';

/** viridis sampled at 0, 0.1, ..., 1 (matplotlib's values); linear in between. */
const VIRIDIS_STOPS: Array<[number, number, number]> = [
  [0x44, 0x01, 0x54],
  [0x48, 0x25, 0x76],
  [0x41, 0x44, 0x87],
  [0x35, 0x60, 0x8d],
  [0x2a, 0x78, 0x8e],
  [0x21, 0x90, 0x8c],
  [0x22, 0xa8, 0x84],
  [0x43, 0xbf, 0x71],
  [0x7a, 0xd1, 0x51],
  [0xbb, 0xdf, 0x27],
  [0xfd, 0xe7, 0x25],
];

/** Colour of t in [0, 1]. */
export function colourAt(name: ColormapName, t: number): [number, number, number] {
  const v = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  if (name === 'gray') {
    const g = Math.round(v * 255);
    return [g, g, g];
  }
  if (name === 'jet') {
    // MATLAB jet: blue -> cyan -> yellow -> red, piecewise linear.
    const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 3)));
    const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 2)));
    const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 1)));
    return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
  }
  const x = v * (VIRIDIS_STOPS.length - 1);
  const i = Math.min(VIRIDIS_STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS_STOPS[i];
  const b = VIRIDIS_STOPS[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

export interface HeatmapOptions {
  colormap?: ColormapName;
  /** Value range mapped to [0, 1]; defaults to the map's own min and max. */
  min?: number;
  max?: number;
}

export function mapRange(map: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

/** Interleaved RGB heat map of a float map (a constant map is drawn at the low end). */
export function heatmapRgb(map: ArrayLike<number>, opts: HeatmapOptions = {}): Uint8Array {
  const range = mapRange(map);
  const min = opts.min ?? range.min;
  const max = opts.max ?? range.max;
  const span = max > min ? max - min : 1;
  const name = opts.colormap ?? 'viridis';
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(colourAt(name, i / 255), 3 * i);
  const out = new Uint8Array(map.length * 3);
  for (let i = 0; i < map.length; i++) {
    const t = max > min ? (map[i] - min) / span : 0;
    const k = Number.isFinite(t) ? Math.round(Math.min(1, Math.max(0, t)) * 255) : 0;
    out[3 * i] = lut[3 * k];
    out[3 * i + 1] = lut[3 * k + 1];
    out[3 * i + 2] = lut[3 * k + 2];
  }
  return out;
}
