/**
 * Connected components of a binary mask with 8-connectivity (as scipy.ndimage.label with a
 * 3x3 structure and skimage.measure.label(connectivity=2)). Used for AUPRO regions, oracle
 * prompts (one box per ground-truth region) and prompts from binarised anomaly maps.
 */

export interface Component {
  /** 1-based label in the label image. */
  label: number;
  area: number;
  /** Inclusive pixel bounds. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Labelled {
  /** 0 = background, 1..count = component label, row-major width*height. */
  labels: Int32Array;
  components: Component[];
}

/** Labels the pixels where mask[i] != 0. Components are numbered in raster order of their first pixel. */
export function labelComponents(mask: ArrayLike<number>, width: number, height: number): Labelled {
  if (mask.length !== width * height) throw new Error(`labelComponents: mask has ${mask.length} values, expected ${width}x${height}`);
  const labels = new Int32Array(width * height);
  const components: Component[] = [];
  const stack = new Int32Array(width * height);
  for (let start = 0; start < labels.length; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    const label = components.length + 1;
    const c: Component = { label, area: 0, x0: width, y0: height, x1: -1, y1: -1 };
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const p = stack[--top];
      const x = p % width;
      const y = (p - x) / width;
      c.area++;
      if (x < c.x0) c.x0 = x;
      if (x > c.x1) c.x1 = x;
      if (y < c.y0) c.y0 = y;
      if (y > c.y1) c.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if ((dx === 0 && dy === 0) || nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] !== 0 && labels[q] === 0) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    components.push(c);
  }
  return { labels, components };
}
