/**
 * NumPy .npy (format 1.0/2.0/3.0) reading and writing for 2-D float maps, so that anomaly maps
 * move between this tool and Python without conversion. Only little-endian float32/float64,
 * uint8/uint16 and C order are supported; anything else is a clear error.
 */
import { UserError } from './errors.js';

export interface NpyArray {
  shape: number[];
  dtype: '<f4' | '<f8' | '|u1' | '<u2';
  data: Float32Array | Float64Array | Uint8Array | Uint16Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * An array as .npy in two parts: the header and a view of the array's own bytes (no copy), for
 * writers that take chunks (writeFileAtomic, DiskCache.setBytes). The array must not change
 * until they are written.
 */
export function npyParts(data: Float32Array | Float64Array, shape: number[]): [Uint8Array, Uint8Array] {
  const header = npyHeader(data, shape);
  return [header, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
}

export function encodeNpy(data: Float32Array | Float64Array, shape: number[]): Uint8Array {
  const [header, body] = npyParts(data, shape);
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

function npyHeader(data: Float32Array | Float64Array, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape [${shape}] does not match ${data.length} values`);
  const descr = data instanceof Float32Array ? '<f4' : '<f8';
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Header (magic + version + len + dict + \n) is padded to a multiple of 64 bytes.
  const pre = 10;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1, ' ') + '\n';
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  return out;
}

export function decodeNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new UserError(`${name}: not a .npy file (bad magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeTxt = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeTxt === undefined) throw new UserError(`${name}: unreadable .npy header: ${header.trim()}`);
  if (fortran === 'True') throw new UserError(`${name}: Fortran-ordered .npy is not supported; save with np.ascontiguousarray`);
  const shape = shapeTxt.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  // A copy (also of a Buffer, whose slice() is a view): aligns the buffer for typed-array views.
  const body = new Uint8Array(bytes.subarray(offset));
  const sizes: Record<string, number> = { '<f4': 4, '<f8': 8, '|u1': 1, '<u2': 2 };
  const size = sizes[descr];
  if (!size) throw new UserError(`${name}: .npy dtype ${descr} is not supported (use float32, float64, uint8 or uint16)`);
  if (body.byteLength < count * size) throw new UserError(`${name}: .npy is truncated (${body.byteLength} bytes for ${count} values)`);
  const buf = body.buffer;
  const data =
    descr === '<f4' ? new Float32Array(buf, 0, count)
    : descr === '<f8' ? new Float64Array(buf, 0, count)
    : descr === '|u1' ? new Uint8Array(buf, 0, count)
    : new Uint16Array(buf, 0, count);
  return { shape, dtype: descr as NpyArray['dtype'], data };
}
