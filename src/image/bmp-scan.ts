/**
 * A fast yes/no for BMP masks: does any pixel have a positive gray value under loadMask's rule
 * (gray > 127, or any non-zero when the maximum gray is below 128)? Reads uncompressed 8-bit palette
 * and 24-bit BMPs in place; returns undefined for other kinds so the caller decodes them fully.
 */
function luma(r: number, g: number, b: number): number {
  return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

export function bmpGrayHasPositive(buf: Uint8Array): boolean | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 54 || buf[0] !== 0x42 || buf[1] !== 0x4d) return undefined;
  const offset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  const width = view.getInt32(18, true);
  const height = Math.abs(view.getInt32(22, true));
  const bitPP = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  if (compression !== 0 || (bitPP !== 8 && bitPP !== 24) || width <= 0 || height <= 0) return undefined;
  const stride = Math.ceil((width * bitPP) / 32) * 4;
  if (offset + stride * (height - 1) + Math.ceil((width * bitPP) / 8) > buf.length) {
    throw new Error('BMP pixel data is truncated');
  }
  let max = 0;
  if (bitPP === 8) {
    const colors = view.getUint32(46, true) || 256;
    const paletteAt = 14 + headerSize;
    const gray = new Uint8Array(256);
    for (let i = 0; i < Math.min(colors, 256); i++) {
      const p = paletteAt + i * 4;
      if (p + 3 > buf.length) break;
      gray[i] = luma(buf[p + 2], buf[p + 1], buf[p]);
    }
    for (let y = 0; y < height; y++) {
      const row = offset + y * stride;
      for (let x = 0; x < width; x++) {
        const v = gray[buf[row + x]];
        if (v > 127) return true;
        if (v > max) max = v;
      }
    }
  } else {
    for (let y = 0; y < height; y++) {
      const row = offset + y * stride;
      for (let x = 0; x < width; x++) {
        const p = row + x * 3;
        const v = luma(buf[p + 2], buf[p + 1], buf[p]);
        if (v > 127) return true;
        if (v > max) max = v;
      }
    }
  }
  return max > 0;
}
