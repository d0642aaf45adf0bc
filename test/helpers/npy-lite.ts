import { readFileSync } from 'node:fs';

/** Enough of numpy's .npy format to read test references: C order, uint8 / float32 / float64 / int32. */
export type NpyArray =
  | { readonly dtype: 'uint8'; readonly shape: number[]; readonly data: Uint8Array }
  | { readonly dtype: 'float32'; readonly shape: number[]; readonly data: Float32Array }
  | { readonly dtype: 'float64'; readonly shape: number[]; readonly data: Float64Array }
  | { readonly dtype: 'int32'; readonly shape: number[]; readonly data: Int32Array };

export function readNpy(path: string): NpyArray {
  const buf = readFileSync(path);
  if (buf.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran !== 'False' || shapeText === undefined) {
    throw new Error(`${path}: unsupported .npy header ${header}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  // copy so the typed array is aligned regardless of the header length
  const body = buf.subarray(start + headerLen);
  const bytes = new Uint8Array(body.length);
  bytes.set(body);
  switch (descr) {
    case '|u1':
      return { dtype: 'uint8', shape, data: bytes };
    case '<f4':
      return { dtype: 'float32', shape, data: new Float32Array(bytes.buffer) };
    case '<f8':
      return { dtype: 'float64', shape, data: new Float64Array(bytes.buffer) };
    case '<i4':
      return { dtype: 'int32', shape, data: new Int32Array(bytes.buffer) };
    default:
      throw new Error(`${path}: unsupported dtype ${descr}`);
  }
}
