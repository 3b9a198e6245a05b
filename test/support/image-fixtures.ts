/** Image files the IO and dataset tests write: BMPs built byte by byte or with bmp-js. */
import bmp from 'bmp-js';

/** An uncompressed 8-bit palette BMP (bottom-up, rows padded to 4 bytes), as KSDD1 labels are stored. */
export function paletteBmp(width: number, height: number, pixels: Uint8Array, palette?: Array<[number, number, number]>): Buffer {
  const pal = palette ?? Array.from({ length: 256 }, (_, i) => [i, i, i] as [number, number, number]);
  const stride = Math.ceil(width / 4) * 4;
  const offset = 14 + 40 + pal.length * 4;
  const size = offset + stride * height;
  const b = Buffer.alloc(size);
  b.write('BM', 0, 'ascii');
  b.writeUInt32LE(size, 2);
  b.writeUInt32LE(offset, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(8, 28);
  b.writeUInt32LE(0, 30);
  b.writeUInt32LE(stride * height, 34);
  b.writeUInt32LE(pal.length, 46);
  pal.forEach(([r, g, bl], i) => {
    b[54 + i * 4] = bl;
    b[54 + i * 4 + 1] = g;
    b[54 + i * 4 + 2] = r;
  });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) b[offset + (height - 1 - y) * stride + x] = pixels[y * width + x];
    // Padding bytes set non-zero on purpose: a scanner that reads them would see a positive pixel.
    for (let x = width; x < stride; x++) b[offset + (height - 1 - y) * stride + x] = 255;
  }
  return b;
}

/** A 24-bit BMP through bmp-js's encoder (it takes ABGR pixels). */
export function rgbBmp(width: number, height: number, rgb: number[]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4 + 1] = rgb[i * 3 + 2];
    data[i * 4 + 2] = rgb[i * 3 + 1];
    data[i * 4 + 3] = rgb[i * 3];
  }
  return bmp.encode({ data, width, height }).data;
}
