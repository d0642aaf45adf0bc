import { rename, writeFile } from 'node:fs/promises';
import { VetbenchError } from '../errors.js';
import { readRegularFile } from '../util/regular-file.js';
import { numel, type HostIntTensor, type HostTensor } from './host-tensor.js';

/** NumPy .npy (format 1.0-3.0), little-endian float32/float64/int32/int64/uint8/float16 read; float32/int32 written. */

type NpyDtype = '<f4' | '<f8' | '<i4' | '<i8' | '|u1' | '<f2' | '|b1';

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: number[];
  /** Values as float64 numbers-in-a-typed-array view, converted once. */
  readonly values: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** More dimensions than any array Vetbench reads (NumPy itself allows 64). */
const MAX_DIMS = 16;

function npyError(source: string, what: string): VetbenchError {
  return new VetbenchError(
    'npy-invalid',
    `${source}: not a valid .npy array (${what})`,
    'Save the array with numpy.save (little-endian float32 or int32, C order).',
  );
}

export function parseNpy(bytes: Uint8Array, source = 'array'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw npyError(source, 'bad magic');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw npyError(source, `unknown format version ${major}`);
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) throw npyError(source, 'the header length is cut off');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerStart + headerLen > bytes.length) throw npyError(source, 'header runs past the end of the file');
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw npyError(source, 'unreadable header');
  if (fortran === 'True') throw npyError(source, 'Fortran order is not supported');
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (dims.length > MAX_DIMS) throw npyError(source, `${dims.length} dimensions (at most ${MAX_DIMS})`);
  // Every dimension a plain non-negative integer (NumPy may write 3L on old Pythons).
  const bad = dims.find((d) => !/^\d{1,15}L?$/.test(d));
  if (bad !== undefined)
    throw npyError(source, `shape dimension '${bad.slice(0, 20)}' is not a non-negative integer`);
  const shape = dims.map((d) => Number(d.replace(/L$/, '')));
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count))
    throw npyError(source, `shape (${dims.join(', ')}) holds too many values`);
  const dataStart = headerStart + headerLen;
  const sizes: Record<string, number> = {
    '<f4': 4,
    '<f8': 8,
    '<i4': 4,
    '<i8': 8,
    '|u1': 1,
    '<f2': 2,
    '|b1': 1,
  };
  const itemSize = sizes[descr];
  if (itemSize === undefined) throw npyError(source, `unsupported dtype ${descr.slice(0, 20)}`);
  const need = count * itemSize;
  if (dataStart + need > bytes.length) {
    throw npyError(
      source,
      `the shape needs ${need} bytes of data but the file holds ${bytes.length - dataStart}`,
    );
  }
  // A copy of exactly the data (Buffer.slice would be a view into a pooled buffer): aligned and detached.
  const buf = Uint8Array.prototype.slice.call(bytes, dataStart, dataStart + need).buffer;
  const dtype = descr as NpyDtype;
  switch (dtype) {
    case '<f4':
      return { dtype, shape, values: new Float32Array(buf, 0, count) };
    case '<f8':
      return { dtype, shape, values: new Float64Array(buf, 0, count) };
    case '<i4':
      return { dtype, shape, values: new Int32Array(buf, 0, count) };
    case '<i8':
      return { dtype, shape, values: new BigInt64Array(buf, 0, count) };
    case '<f2':
      return { dtype, shape, values: new Uint16Array(buf, 0, count) };
    case '|u1':
    case '|b1':
      return { dtype, shape, values: new Uint8Array(buf, 0, count) };
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Any numeric .npy as float32. */
export function npyToFloat32(arr: NpyArray): HostTensor {
  const v = arr.values;
  let data: Float32Array;
  if (v instanceof Float32Array) data = v;
  else if (v instanceof BigInt64Array) data = Float32Array.from(v, (x) => Number(x));
  else if (arr.dtype === '<f2') data = Float32Array.from(v as Uint16Array, halfToFloat);
  else data = Float32Array.from(v as ArrayLike<number>);
  return { data, shape: arr.shape };
}

/** Integer .npy (int32/int64/uint8) as int32; floats are refused to avoid silent truncation. */
export function npyToInt32(arr: NpyArray, source = 'array'): HostIntTensor {
  const v = arr.values;
  if (v instanceof Int32Array) return { data: v, shape: arr.shape };
  if (v instanceof BigInt64Array) {
    // Refused rather than wrapped: 2**62 would otherwise become token id 0.
    const out = v.findIndex((x) => x < -2147483648n || x > 2147483647n);
    if (out >= 0) throw npyError(source, `int64 value ${v[out]} at index ${out} does not fit in int32`);
    return { data: Int32Array.from(v, (x) => Number(x)), shape: arr.shape };
  }
  if (v instanceof Uint8Array) return { data: Int32Array.from(v), shape: arr.shape };
  throw npyError(source, `expected integers, found ${arr.dtype}`);
}

export async function readNpy(path: string): Promise<NpyArray> {
  return parseNpy(await readRegularFile(path, { what: 'array' }), path);
}

export async function readNpyFloat32(path: string): Promise<HostTensor> {
  return npyToFloat32(await readNpy(path));
}

export async function readNpyInt32(path: string): Promise<HostIntTensor> {
  return npyToInt32(await readNpy(path), path);
}

export function encodeNpy(data: Float32Array | Int32Array, shape: readonly number[]): Uint8Array {
  if (data.length !== numel(shape)) throw new Error(`encodeNpy: ${data.length} values for shape [${shape}]`);
  const descr = data instanceof Float32Array ? '<f4' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + headerBytes.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + headerBytes.length);
  return out;
}

/** Writes to a temporary name and renames, so a reader never sees half an array. */
export async function writeNpy(
  path: string,
  data: Float32Array | Int32Array,
  shape: readonly number[],
): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, encodeNpy(data, shape));
  await rename(tmp, path);
}
