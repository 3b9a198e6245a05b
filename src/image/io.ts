/**
 * Image IO at the edge of the toolkit: every image and mask enters through here as a typed array with
 * explicit width, height and channels. PNG/JPEG/TIFF/WebP go through sharp; BMP (KSDD1 labels, some
 * BTAD masks) through bmp-js, because sharp's libvips build cannot read BMP. The format is chosen
 * from the file's magic bytes, never from its extension (datasets misname files).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import bmp from 'bmp-js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs-atomic.js';
import { sha256File } from '../util/hash.js';
import { bmpGrayHasPositive } from './bmp-scan.js';
import type { RgbImage } from './types.js';

/** A decoded image: row-major, channels interleaved; alpha is always dropped. */
export interface RasterImage {
  width: number;
  height: number;
  channels: 1 | 3;
  bitDepth: 8 | 16;
  data: Uint8Array | Uint16Array;
}

export type { RgbImage } from './types.js';

/** 8-bit single channel, width*height values. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A ground-truth mask: width*height values of 0 or 1. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'file not found';
  if (e?.code === 'EACCES') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a directory';
  return (e?.message ?? String(err)).split('\n')[0].trim();
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UserError(`cannot read image ${path}: ${describe(err)}`, { cause: err });
  }
}

function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d; // 'BM'
}

function decodeBmp(buf: Buffer): RasterImage {
  const decoded = bmp.decode(buf);
  const { width, height } = decoded;
  const abgr = decoded.data;
  if (!(width > 0 && height > 0) || abgr.length < width * height * 4) throw new Error('BMP pixel data is incomplete');
  // Palette BMPs (the usual 8-bit masks and labels) whose palette is all grey decode to one channel,
  // so that a grey label reads the same whether it is stored as BMP or PNG.
  const greyPalette =
    decoded.bitPP <= 8 && decoded.palette?.every((c) => c.red === c.green && c.green === c.blue);
  const n = width * height;
  if (greyPalette) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = abgr[i * 4 + 3];
    return { width, height, channels: 1, bitDepth: 8, data };
  }
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = abgr[i * 4 + 3];
    data[i * 3 + 1] = abgr[i * 4 + 2];
    data[i * 3 + 2] = abgr[i * 4 + 1];
  }
  return { width, height, channels: 3, bitDepth: 8, data };
}

async function decodeWithSharp(buf: Buffer): Promise<RasterImage> {
  const meta = await sharp(buf).metadata();
  const sixteen = meta.depth === 'ushort';
  const grey = meta.space === 'b-w' || meta.space === 'grey16' || (meta.channels ?? 3) <= 2;
  const colourspace = grey ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  const { data, info } = await sharp(buf, { autoOrient: true })
    .removeAlpha()
    .toColourspace(colourspace)
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const channels = info.channels;
  if (channels !== 1 && channels !== 3) throw new Error(`unexpected ${channels} channels after decoding`);
  const n = info.width * info.height * channels;
  const pixels = sixteen
    ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + n * 2))
    : new Uint8Array(data.buffer, data.byteOffset, n);
  return { width: info.width, height: info.height, channels, bitDepth: sixteen ? 16 : 8, data: pixels };
}

/**
 * Decodes an image file: gray or RGB, 8 or 16 bit, alpha dropped, EXIF orientation applied.
 * A missing, corrupt or truncated file raises a UserError naming the file.
 */
export async function loadImage(path: string): Promise<RasterImage> {
  const buf = await readBytes(path);
  try {
    return isBmp(buf) ? decodeBmp(buf) : await decodeWithSharp(buf);
  } catch (err) {
    throw new UserError(`cannot decode image ${path}: ${describe(err)}`, { cause: err });
  }
}

/** 16-bit to 8-bit the way OpenCV/PIL scale it: v / 257, rounded. */
function to8bit(data: Uint16Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.round(data[i] / 257);
  return out;
}

/** The image as interleaved 8-bit RGB: grayscale is expanded, 16-bit is scaled down. */
export function toRgb(img: RasterImage): RgbImage {
  const src = img.bitDepth === 16 ? to8bit(img.data as Uint16Array) : (img.data as Uint8Array);
  if (img.channels === 3) return { width: img.width, height: img.height, data: src };
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = src[i];
  return { width: img.width, height: img.height, data };
}

/** The image as 8-bit gray; RGB is converted with the ITU-R 601 luma weights (as cv2.IMREAD_GRAYSCALE). */
export function toGray(img: RasterImage): GrayImage {
  const src = img.bitDepth === 16 ? to8bit(img.data as Uint16Array) : (img.data as Uint8Array);
  if (img.channels === 1) return { width: img.width, height: img.height, data: src };
  const n = img.width * img.height;
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    data[i] = Math.round(0.299 * src[i * 3] + 0.587 * src[i * 3 + 1] + 0.114 * src[i * 3 + 2]);
  }
  return { width: img.width, height: img.height, data };
}

export async function loadRgb(path: string): Promise<RgbImage> {
  return toRgb(await loadImage(path));
}

/**
 * Binarises a decoded mask: gray value (8-bit scale) > 127, as the reference thresholds masks at 128.
 * A mask whose gray values are all below 128 but not all zero (labels stored as 0/1 or as small class
 * ids, or faint resized masks) would be empty under that rule; there any non-zero value is positive.
 */
export function binariseMask(img: RasterImage): BinaryMask {
  const gray = toGray(img).data;
  let max = 0;
  for (let i = 0; i < gray.length; i++) if (gray[i] > max) max = gray[i];
  const cut = max > 0 && max <= 127 ? 0 : 127;
  const data = new Uint8Array(gray.length);
  for (let i = 0; i < gray.length; i++) data[i] = gray[i] > cut ? 1 : 0;
  return { width: img.width, height: img.height, data };
}

export async function loadMask(path: string): Promise<BinaryMask> {
  return binariseMask(await loadImage(path));
}

/** True when the mask has at least one positive pixel. */
export function maskHasPositive(mask: BinaryMask): boolean {
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) return true;
  return false;
}

/**
 * Whether a mask file has any positive pixel under loadMask's rule. Uncompressed 8/24-bit BMPs (KSDD1
 * labels: hundreds of 0.6 MB files) are scanned in place without decoding them to RGBA.
 */
export async function maskFileHasPositive(path: string): Promise<boolean> {
  const buf = await readBytes(path);
  if (isBmp(buf)) {
    let fast: boolean | undefined;
    try {
      fast = bmpGrayHasPositive(buf);
    } catch (err) {
      throw new UserError(`cannot decode image ${path}: ${describe(err)}`, { cause: err });
    }
    if (fast !== undefined) return fast;
  }
  return maskHasPositive(await loadMask(path));
}

/**
 * Writes an 8-bit gray (width*height values) or RGB (width*height*3) image as PNG, atomically.
 * Binary masks (0/1) are written as 0/255 when `{ mask: true }`.
 */
export async function savePng(
  path: string,
  image: { width: number; height: number; data: Uint8Array | Uint8ClampedArray },
  opts: { mask?: boolean } = {},
): Promise<void> {
  const { width, height } = image;
  const n = width * height;
  const channels = image.data.length === n ? 1 : image.data.length === n * 3 ? 3 : 0;
  if (channels === 0) {
    throw new Error(`savePng: ${image.data.length} values do not make a ${width}x${height} gray or RGB image`);
  }
  if (extname(path).toLowerCase() !== '.png') throw new Error(`savePng: ${path} does not end in .png`);
  let data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  if (opts.mask) {
    data = Buffer.alloc(image.data.length);
    for (let i = 0; i < data.length; i++) data[i] = image.data[i] ? 255 : 0;
  }
  let pipeline = sharp(data, { raw: { width, height, channels } });
  // Without this sharp writes a one-channel raw input as an RGB PNG.
  if (channels === 1) pipeline = pipeline.toColourspace('b-w');
  const png = await pipeline.png({ compressionLevel: 6 }).toBuffer();
  await writeFileAtomic(path, png);
}

/**
 * Content hash of an image for cache keys: sha256 of the file's bytes (cheaper than hashing decoded
 * pixels; a re-encoded copy of the same pixels hashes differently, which only costs a cache miss).
 */
export async function imageFileHash(path: string): Promise<string> {
  try {
    return await sha256File(path);
  } catch (err) {
    throw new UserError(`cannot read image ${path}: ${describe(err)}`, { cause: err });
  }
}

/**
 * Width and height from the file header, without decoding pixels (EXIF orientation applied, so it
 * matches loadImage). A corrupt file raises a UserError naming it.
 */
export async function imageSize(path: string): Promise<{ width: number; height: number }> {
  const buf = await readBytes(path);
  try {
    if (isBmp(buf)) {
      if (buf.length < 26) throw new Error('BMP header is truncated');
      return { width: buf.readInt32LE(18), height: Math.abs(buf.readInt32LE(22)) };
    }
    const meta = await sharp(buf).metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions in header');
    const swap = (meta.orientation ?? 1) >= 5;
    return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  } catch (err) {
    throw new UserError(`cannot decode image ${path}: ${describe(err)}`, { cause: err });
  }
}

/** An 8-bit gray (width*height values) or RGB (width*height*3) image resized with Lanczos (sharp): thumbnails, figures. */
export async function resizeImage(image: { width: number; height: number; data: Uint8Array }, width: number, height: number): Promise<{ width: number; height: number; data: Uint8Array }> {
  const channels = channelsOf(image);
  if (image.width === width && image.height === height) return image;
  const { data } = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), { raw: { width: image.width, height: image.height, channels } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Encodes an 8-bit gray or RGB image in memory: PNG (lossless; `colours` makes a palette PNG, small
 * for masks), WebP or JPEG at `quality`; resized first (Lanczos) when `width` and `height` are given.
 */
export async function encodeImage(
  image: { width: number; height: number; data: Uint8Array },
  opts: { format: 'png' | 'webp' | 'jpeg'; quality?: number; colours?: number; width?: number; height?: number },
): Promise<Buffer> {
  const channels = channelsOf(image);
  let p = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), { raw: { width: image.width, height: image.height, channels } });
  if (opts.width && opts.height && (opts.width !== image.width || opts.height !== image.height)) p = p.resize(opts.width, opts.height, { fit: 'fill', kernel: 'lanczos3' });
  if (channels === 1) p = p.toColourspace('b-w');
  if (opts.format === 'png') return p.png({ compressionLevel: 9, ...(opts.colours ? { palette: true, colours: opts.colours } : {}) }).toBuffer();
  if (opts.format === 'webp') return p.webp({ quality: opts.quality ?? 80, effort: 4 }).toBuffer();
  return p.jpeg({ quality: opts.quality ?? 80, mozjpeg: true }).toBuffer();
}

function channelsOf(image: { width: number; height: number; data: Uint8Array }): 1 | 3 {
  const n = image.width * image.height;
  if (image.data.length === n) return 1;
  if (image.data.length === 3 * n) return 3;
  throw new Error(`${image.data.length} values do not make a ${image.width}x${image.height} gray or RGB image`);
}
