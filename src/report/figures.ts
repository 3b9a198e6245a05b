/**
 * Paper figures from the report's Vega-Lite specs, headless: SVG through vega's View.toSVG
 * (renderer 'none', no canvas, so vega estimates text widths), PNG by rasterising that SVG with
 * sharp (librsvg and fontconfig inside sharp's libvips), so no native canvas build is needed. PNG
 * text needs a system font that fontconfig finds (DejaVu Sans: Debian's fonts-dejavu-core);
 * without one librsvg draws each glyph as a box, which `checkFigureFonts` detects.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Spec } from './chart-style.js';

export type FigureFormat = 'svg' | 'png';

export async function specToSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** `dpi`: output resolution; the SVG's px are CSS px (96 per inch). */
export async function svgToPng(svg: string, dpi: number): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: (72 * dpi) / 96 })
    .flatten({ background: '#ffffff' })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** Dark pixels of one line of text rasterised the way PNG figures are. */
async function ink(text: string): Promise<number> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="30"><text x="4" y="22" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="18">${text}</text></svg>`;
  const { data } = await sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).greyscale().raw().toBuffer({ resolveWithObject: true });
  let dark = 0;
  for (const v of data) if (v < 128) dark++;
  return dark;
}

/**
 * Whether PNG figures get readable text. Without a font that fontconfig finds, librsvg draws every
 * glyph as the same box, so a line of narrow letters then has as much ink as one of wide letters.
 * Null when text renders, else a one-line warning.
 */
export async function checkFigureFonts(): Promise<string | null> {
  const [narrow, wide] = await Promise.all([ink('iiiiii'), ink('WWWWWW')]);
  return wide > 1.5 * narrow
    ? null
    : 'PNG figures will have unreadable text (boxes): fontconfig finds no font (on Debian: apt-get install fonts-dejavu-core); SVG figures are not affected';
}

/** Writes <outDir>/<name>.<format> for every spec; returns the paths. */
export async function writeFigures(specs: Array<{ name: string; spec: Spec }>, outDir: string, formats: FigureFormat[], dpi: number): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const { name, spec } of specs) {
    const svg = await specToSvg(spec);
    const file = name.replace(/[^A-Za-z0-9_.-]+/g, '_');
    if (formats.includes('svg')) {
      await writeFile(join(outDir, `${file}.svg`), svg);
      written.push(join(outDir, `${file}.svg`));
    }
    if (formats.includes('png')) {
      await writeFile(join(outDir, `${file}.png`), await svgToPng(svg, dpi));
      written.push(join(outDir, `${file}.png`));
    }
  }
  return written;
}
