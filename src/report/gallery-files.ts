/**
 * The report's gallery files. The page composes each tile on a canvas (src/report/assets/report.js,
 * in the style of src/viz/overlay.ts): the image, the run's map as a semi-transparent heat map on
 * the run's display scale (src/viz/gallery.ts), the ground-truth outline, the run's mask at its
 * F1-max threshold and its prompts. Written per category c and test image k:
 *
 *   g/<c>/<k>.t.webp   the image, thumbnail (longer side `thumb`), loaded when scrolled to
 *   g/<c>/<k>.f.webp   the image, larger (longer side `full`), loaded on click
 *   g/<c>/data.js      loaded when the category is shown: every run's map of every image (8-bit on
 *                      its display scale, longer side `map_side`, WebP) and the ground-truth masks
 *                      (PNG), as data: URLs.
 *
 * Why the maps travel as data: URLs in a script: a page opened from file:// may draw file:// images
 * on a canvas but not read their pixels back (Chromium taints the canvas), and colouring a map
 * needs its pixels; data: images do not taint, and a classic <script src> loads from file://.
 * Keeping the maps apart from the images is also what keeps a 10 x 15 x 100 report small: one
 * picture per test image plus ~2 kB per run and image, not one composed picture per run and image.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReportSettings } from '../config/schema.js';
import { encodeImage, loadMask, loadRgb } from '../image/io.js';
import { resizeBilinear, resizeNearest } from '../image/resize.js';
import type { ImageRecord } from '../run-directory/records.js';
import { RunDir } from '../run-directory/run-dir.js';
import { blockMean, disagreement, displayScale, fitSize, orderImages, toDisplay } from '../viz/gallery.js';
import { OVERLAY_STYLE } from '../viz/overlay.js';
import type { LoadedRun } from './types.js';

export interface GalleryImage {
  relId: string;
  label: string;
  defect: string;
  width: number;
  height: number;
  disagreement: number;
  /** Key of the image in data.js. */
  key: number;
  /** Thumbnail and larger picture, relative to index.html. */
  thumb: string;
  full: string;
  /** Whether data.js holds a ground-truth mask for it. */
  gt: boolean;
  /** Ids of the runs with a map of it. */
  runs: string[];
  /** Fraction of the image inside each run's mask at its F1-max threshold. */
  area: Record<string, number>;
  /** Prompts per run as fractions of the image: boxes [left, top, right, bottom] edges, points [x, y]. */
  prompts: Record<string, { b: number[][]; p: number[][] }>;
}

export interface GalleryRun {
  min: number;
  max: number;
  /** F1-max threshold on the [0, 1] display scale. */
  threshold: number | null;
  /** Where the range came from: metrics.json's map_range, or the native maps (older metrics.json). */
  rangeFrom: 'metrics.json' | 'maps';
}

export interface GalleryCategory {
  name: string;
  /** data.js of the category, relative to index.html. */
  script: string;
  /** In display order: anomalous first, then by disagreement. */
  images: GalleryImage[];
  runs: Record<string, GalleryRun>;
}

export interface GalleryData {
  thumb: number;
  full: number;
  style: typeof OVERLAY_STYLE;
  categories: GalleryCategory[];
}

/** Side of the maps compared for the disagreement. */
const SMALL = 64;

const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

async function eachLimited<T>(items: T[], n: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

const dataUrl = (mime: string, bytes: Buffer) => `data:${mime};base64,${bytes.toString('base64')}`;

export type GalleryOptions = Pick<ReportSettings, 'thumb' | 'full' | 'map_side' | 'image_format' | 'image_quality' | 'map_quality' | 'max_images'> & {
  onProgress?: (done: number, total: number) => void;
};

/** Writes the gallery under <outDir>/g/ and returns what the page needs. */
export async function writeGallery(runs: LoadedRun[], outDir: string, o: GalleryOptions): Promise<GalleryData> {
  const withRecords = runs.filter((r) => r.records.size > 0);
  const names = [...new Set(withRecords.flatMap((r) => [...r.records.keys()]))];
  const data: GalleryData = { thumb: o.thumb, full: o.full, style: OVERLAY_STYLE, categories: [] };
  const ext = o.image_format === 'jpeg' ? 'jpg' : 'webp';
  const perCategory = names.map((c) => new Set(withRecords.flatMap((r) => (r.records.get(c) ?? []).map((x) => x.relId))).size);
  const total = perCategory.reduce((a, b) => a + Math.min(b, o.max_images ?? b), 0);
  let done = 0;

  for (const [ci, cat] of names.entries()) {
    // Each run's display scale: map_range from metrics.json, else the range of its maps here.
    const scales: GalleryCategory['runs'] = {};
    for (const run of withRecords) {
      const recs = run.records.get(cat) ?? [];
      if (!recs.length) continue;
      const row = run.metrics.categories.find((c) => c.category === cat);
      let range = row?.map_range ?? null;
      if (!range) {
        let lo = Infinity;
        let hi = -Infinity;
        const dir = new RunDir(run.dir);
        for (const rec of recs) {
          const m = await dir.readMap(cat, rec.relId).catch(() => null);
          if (m) for (const v of m.data) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
        }
        range = lo <= hi ? { min: lo, max: hi } : { min: 0, max: 1 };
      }
      const s = displayScale(range, row?.pixel_f1_threshold ?? null, run.metrics.options.normalize !== false);
      scales[run.id] = { ...s, rangeFrom: row?.map_range ? 'metrics.json' : 'maps' };
    }
    // The images: every image a run recorded (the first run that has it gives its paths).
    const byId = new Map<string, ImageRecord>();
    for (const run of withRecords) for (const rec of run.records.get(cat) ?? []) if (!byId.has(rec.relId)) byId.set(rec.relId, rec);
    const recs = [...byId.values()];
    const dir = join(outDir, 'g', String(ci));
    await mkdir(dir, { recursive: true });
    const entries: GalleryImage[] = new Array(recs.length);
    const gtUrls: Record<number, string> = {};
    const mapUrls: Record<number, Record<string, string>> = {};

    // Maps first (cheap), so that only the pictured images are decoded when max_images is set.
    const small: Float32Array[][] = recs.map(() => []);
    for (const run of withRecords) {
      if (!scales[run.id]) continue;
      const rd = new RunDir(run.dir);
      const own = new Set((run.records.get(cat) ?? []).map((r) => r.relId));
      for (const [k, rec] of recs.entries()) {
        if (!own.has(rec.relId)) continue;
        const m = await rd.readMap(cat, rec.relId).catch(() => null);
        if (m) small[k].push(toDisplay(blockMean(m.data, m.width, m.height, SMALL), scales[run.id]));
      }
    }
    const order = orderImages(recs.map((rec, k) => ({ k, relId: rec.relId, label: rec.label, disagreement: disagreement(small[k]) })));
    const pictured = o.max_images === undefined ? order : order.slice(0, o.max_images);

    await eachLimited(pictured, 2, async ({ k, disagreement: dis }) => {
      const rec = recs[k];
      const base = `g/${ci}/${k}`;
      const image = await loadRgb(rec.imagePath);
      const [tw, th] = fitSize(image.width, image.height, o.thumb);
      const [fw, fh] = fitSize(image.width, image.height, o.full);
      const enc = { format: o.image_format, quality: o.image_quality } as const;
      await writeFile(join(outDir, `${base}.t.${ext}`), await encodeImage(image, { ...enc, width: tw, height: th }));
      await writeFile(join(outDir, `${base}.f.${ext}`), await encodeImage(image, { ...enc, width: fw, height: fh }));
      let gt = false;
      if (rec.maskPath) {
        const m = await loadMask(rec.maskPath);
        const r = resizeNearest(m.data, m.width, m.height, fw, fh);
        for (let i = 0; i < r.length; i++) r[i] = r[i] ? 255 : 0;
        gtUrls[k] = dataUrl('image/png', await encodeImage({ width: fw, height: fh, data: r }, { format: 'png', colours: 2 }));
        gt = true;
      }
      const present: string[] = [];
      const area: Record<string, number> = {};
      const prompts: GalleryImage['prompts'] = {};
      const [mw, mh] = fitSize(image.width, image.height, o.map_side);
      for (const run of withRecords) {
        const r = (run.records.get(cat) ?? []).find((x) => x.relId === rec.relId);
        const scale = scales[run.id];
        if (!r || !scale) continue;
        const map = await new RunDir(run.dir).readMap(cat, rec.relId).catch(() => null);
        if (!map) continue;
        present.push(run.id);
        const shown = toDisplay(resizeBilinear(map.data, map.width, map.height, mw, mh), scale);
        const u8 = Uint8Array.from(shown, (v) => Math.round(255 * v));
        if (scale.threshold !== null) {
          let inside = 0;
          for (const v of shown) if (v >= scale.threshold) inside++;
          area[run.id] = r4(inside / shown.length);
        }
        (mapUrls[k] ??= {})[run.id] = dataUrl('image/webp', await encodeImage({ width: mw, height: mh, data: u8 }, { format: 'webp', quality: o.map_quality }));
        const kept = (r.samPrompts ?? []).filter((b) => b.kept);
        const points = ((r.notes?.points as Array<[number, number]> | undefined) ?? []).filter((q) => Array.isArray(q) && q.length >= 2);
        if (kept.length || points.length) {
          // Boxes name their first and last pixel (src/image/types.ts): the right / bottom edge is x2 + 1.
          prompts[run.id] = {
            b: kept.map(({ box: b }) => [r4(b[0] / r.width), r4(b[1] / r.height), r4((b[2] + 1) / r.width), r4((b[3] + 1) / r.height)]),
            p: points.map((q) => [r4((q[0] + 0.5) / r.width), r4((q[1] + 0.5) / r.height)]),
          };
        }
      }
      entries[k] = {
        relId: rec.relId,
        label: rec.label,
        defect: rec.defectType,
        width: image.width,
        height: image.height,
        disagreement: Number(dis.toFixed(5)),
        key: k,
        thumb: `${base}.t.${ext}`,
        full: `${base}.f.${ext}`,
        gt,
        runs: present,
        area,
        prompts,
      };
      done++;
      o.onProgress?.(done, total);
    });
    const script = `g/${ci}/data.js`;
    await writeFile(join(outDir, script), `(window.__iapasGallery = window.__iapasGallery || {})[${ci}] = ${JSON.stringify({ gt: gtUrls, maps: mapUrls })};\n`);
    data.categories.push({ name: cat, script, images: pictured.map(({ k }) => entries[k]), runs: scales });
  }
  return data;
}
