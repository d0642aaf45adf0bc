import { createHash, randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { basename, dirname, join } from 'node:path';
import { VetbenchError } from '../errors.js';
import { openRegularFile } from '../util/regular-file.js';
import { formatShape, numel } from '../tensor/host-tensor.js';

/**
 * safetensors (https://github.com/huggingface/safetensors): `u64 LE header length N`, `N bytes of JSON header`,
 * then the data buffer. Header: `{"__metadata__": {str: str}, name: {dtype, shape, data_offsets: [begin, end]}}`
 * with offsets relative to the start of the data buffer. Every tensor is read into float32.
 */

/** dtypes this reader converts to float32; anything else is refused with an 'unknown dtype' error. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32';
/** dtypes the writer can store. */
export type SafetensorsWriteDtype = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
};

/** The reference implementation refuses headers above 100 MB; so do we (a corrupt length would allocate GBs). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Byte range in the data buffer (after the header), [begin, end). */
  readonly dataOffsets: readonly [number, number];
}

export interface SafetensorsTensor {
  readonly name: string;
  /** The dtype stored in the file; `data` is always float32. */
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** Entries in file order (by data offset). */
  readonly entries: readonly SafetensorsEntry[];
  /** 8 + header length: where the data buffer starts in the file. */
  readonly dataStart: number;
}

export interface SafetensorsFile {
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in file order (by data offset). */
  readonly tensors: readonly SafetensorsTensor[];
  readonly fileBytes: number;
  /** SHA-256 of the whole file, hex; present when asked for (computed while reading, no second pass). */
  readonly sha256?: string;
}

export interface WritableTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** Stored dtype; F32 when omitted. */
  readonly dtype?: SafetensorsWriteDtype;
}

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const REWRITE_HINT =
  'Re-export the weights with the safetensors library (Python: safetensors.torch.save_file(state_dict, "model.safetensors")).';

function corrupt(code: string, sourceName: string, problem: string, hint = REWRITE_HINT): VetbenchError {
  return new VetbenchError(code, `${sourceName}: ${problem}`, hint);
}

// ---------------------------------------------------------------------------------------------------------
// Half-precision conversions

let halfTable: Float32Array | undefined;

/** float16 bits -> float32, as a 65536-entry table: one lookup per value instead of bit fiddling. */
export function float16Table(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    let magnitude: number;
    if (exponent === 0) magnitude = fraction * 2 ** -24;
    else if (exponent === 31) magnitude = fraction === 0 ? Infinity : NaN;
    else magnitude = (1 + fraction / 1024) * 2 ** (exponent - 15);
    table[h] = h & 0x8000 ? -magnitude : magnitude;
  }
  halfTable = table;
  return table;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 bit pattern -> float16 bits, round to nearest even; overflow gives Inf, NaN stays NaN. */
function halfBitsFromFloatBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (abs >= 0x47800000) return sign | 0x7c00; // >= 65536: beyond the largest half even before rounding
  if (abs < 0x38800000) {
    // Below 2^-14: a half subnormal (unit 2^-24) or zero.
    if (abs <= 0x33000000) return sign; // <= 2^-25 rounds to zero (the tie goes to the even zero)
    const exponent = abs >>> 23;
    const mantissa = (abs & 0x7fffff) | 0x800000;
    const shift = 126 - exponent;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    if (rest > midpoint || (rest === midpoint && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3ff);
  const rest = abs & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Inf).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** float32 bit pattern -> bfloat16 bits (the upper half), round to nearest even; NaN stays NaN. */
function bfloatBitsFromFloatBits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) & 0x8000) | 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function floatBits(value: number): number {
  f32Scratch[0] = value;
  return u32Scratch[0] ?? 0;
}

/** float32 -> float16 bits, round to nearest even; overflow gives Inf, NaN stays NaN. */
export function float32ToFloat16Bits(value: number): number {
  return halfBitsFromFloatBits(floatBits(value));
}

/** float32 -> bfloat16 bits, round to nearest even; NaN stays NaN. */
export function float32ToBfloat16Bits(value: number): number {
  return bfloatBitsFromFloatBits(floatBits(value));
}

// ---------------------------------------------------------------------------------------------------------
// Reading

function isSafetensorsDtype(value: string): value is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDimension(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Recognise the formats people most often pass by mistake, to say how to convert them. */
function wrongFormatHint(bytes: Uint8Array): string | undefined {
  const startsWith = (magic: readonly number[]) => magic.every((b, i) => bytes[i] === b);
  // Vetbench reads these itself (engine/clip/checkpoints) without running their pickles; never advise torch.load.
  if (startsWith([0x50, 0x4b, 0x03, 0x04])) {
    return (
      'This is a zip archive, most likely a PyTorch checkpoint (.pt/.bin, including OpenAI TorchScript files). ' +
      'Vetbench reads it without running its code: vetbench inspect-model <file>, or vetbench convert <file> --out model.safetensors.'
    );
  }
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5) {
    return (
      'This is a Python pickle (legacy torch.save checkpoint). Vetbench reads it without running its code: ' +
      'vetbench inspect-model <file>, or vetbench convert <file> --out model.safetensors.'
    );
  }
  if (startsWith([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]))
    return 'This is a NumPy .npy array, not a safetensors file.';
  return undefined;
}

/** Parses and validates the header only; `bytes` needs to hold at least the first 8 + N bytes. */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  sourceName: string,
  fileBytes: number = bytes.length,
): SafetensorsHeader {
  // Files of another format fail one of the first checks; then say what they are and how to convert them.
  const fail = (code: string, problem: string, hint: string): VetbenchError => {
    const formatHint = wrongFormatHint(bytes);
    return formatHint
      ? corrupt('safetensors-wrong-format', sourceName, `not a safetensors file (${problem})`, formatHint)
      : corrupt(code, sourceName, problem, hint);
  };
  const truncatedHint = 'Copy or download the file again; it was cut short.';
  if (fileBytes < 8 || bytes.length < 8) {
    throw fail(
      'safetensors-too-short',
      `the file has ${fileBytes} bytes, fewer than the 8-byte header length; it is empty or truncated`,
      truncatedHint,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw fail(
      'safetensors-header-too-large',
      `the header claims ${declared} bytes (the limit is ${MAX_HEADER_BYTES}); the file is corrupt or not safetensors`,
      REWRITE_HINT,
    );
  }
  const headerLength = Number(declared);
  const dataStart = 8 + headerLength;
  if (dataStart > fileBytes || dataStart > bytes.length) {
    throw fail(
      'safetensors-truncated',
      `the header claims ${headerLength} bytes but the file ends after ${fileBytes - 8}; it is truncated or not safetensors`,
      truncatedHint,
    );
  }
  let headerText: string;
  let header: unknown;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    throw fail('safetensors-header-not-json', 'the header is not valid UTF-8 text', REWRITE_HINT);
  }
  try {
    // Writers pad with spaces; tolerate NUL padding from sloppier writers too.
    header = JSON.parse(headerText.replace(/[\s\0]+$/, ''));
  } catch (e) {
    throw fail(
      'safetensors-header-not-json',
      `the header is not JSON (${(e as Error).message})`,
      REWRITE_HINT,
    );
  }
  if (!isPlainObject(header)) {
    throw corrupt(
      'safetensors-header-not-object',
      sourceName,
      'the header is JSON but not an object of tensors',
    );
  }

  const dataBytes = fileBytes - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw corrupt(
          'safetensors-bad-metadata',
          sourceName,
          '__metadata__ must be an object of string values',
        );
      }
      Object.assign(metadata, raw);
      continue;
    }
    entries.push(parseEntry(name, raw, sourceName, dataBytes));
  }

  // Overlap check on the byte ranges sorted by start; empty tensors occupy nothing.
  const ordered = [...entries].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
  let previous: SafetensorsEntry | undefined;
  for (const entry of ordered) {
    if (entry.dataOffsets[0] === entry.dataOffsets[1]) continue;
    if (previous && entry.dataOffsets[0] < previous.dataOffsets[1]) {
      throw corrupt(
        'safetensors-overlap',
        sourceName,
        `tensors '${previous.name}' [${previous.dataOffsets.join(', ')}) and '${entry.name}' ` +
          `[${entry.dataOffsets.join(', ')}) overlap in the data buffer`,
      );
    }
    previous = entry;
  }
  return { metadata, entries: ordered, dataStart };
}

function parseEntry(name: string, raw: unknown, sourceName: string, dataBytes: number): SafetensorsEntry {
  const bad = (problem: string) =>
    corrupt('safetensors-bad-entry', sourceName, `tensor '${name}': ${problem}`);
  if (!isPlainObject(raw)) throw bad('the header entry is not an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = raw;
  const missing = ['dtype', 'shape', 'data_offsets'].filter((key) => raw[key] === undefined);
  if (missing.length > 0) throw bad(`the header entry has no ${missing.join(', ')}`);
  if (typeof dtype !== 'string') throw bad('dtype is not a string');
  if (!isSafetensorsDtype(dtype)) {
    throw corrupt(
      'safetensors-unknown-dtype',
      sourceName,
      `tensor '${name}' has unknown or unsupported dtype '${dtype}' (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`,
      'Convert the weights to float32 or float16 before loading (Python: {k: v.float() for k, v in state_dict.items()}).',
    );
  }
  if (!Array.isArray(shape) || !shape.every(isDimension)) {
    throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDimension)) {
    throw bad(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes) {
    throw corrupt(
      'safetensors-bad-offsets',
      sourceName,
      `tensor '${name}' has data_offsets [${begin}, ${end}] ` +
        (begin > end
          ? 'that are reversed'
          : `outside the ${dataBytes}-byte data buffer (the file may be truncated)`),
    );
  }
  const expectedBytes = numel(shape) * DTYPE_BYTES[dtype];
  if (end - begin !== expectedBytes) {
    throw corrupt(
      'safetensors-size-mismatch',
      sourceName,
      `tensor '${name}' (${dtype} ${formatShape(shape)}) needs ${expectedBytes} bytes but its data_offsets span ${end - begin}`,
    );
  }
  return { name, dtype, shape: [...shape], dataOffsets: [begin, end] };
}

/** The bytes at `offset` as an aligned buffer range: a view when aligned, else a copy (then at offset 0). */
function alignedRange(
  bytes: Uint8Array,
  offset: number,
  length: number,
  alignment: number,
): [ArrayBuffer, number] {
  const absolute = bytes.byteOffset + offset;
  if (absolute % alignment === 0 && bytes.buffer instanceof ArrayBuffer) return [bytes.buffer, absolute];
  // A real copy: Buffer#slice would return a view of the same (unaligned) memory.
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(offset, offset + length));
  return [copy.buffer, 0];
}

/** Converts one tensor's bytes to float32 (a fresh array, so the file buffer can be released afterwards). */
export function decodeToFloat32(
  bytes: Uint8Array,
  offset: number,
  count: number,
  dtype: SafetensorsDtype,
): Float32Array {
  if (!IS_LITTLE_ENDIAN) return decodeWithDataView(bytes, offset, count, dtype);
  const [buffer, start] = alignedRange(bytes, offset, count * DTYPE_BYTES[dtype], DTYPE_BYTES[dtype]);
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer, start, count).slice();
    case 'F16': {
      const table = float16Table();
      const halves = new Uint16Array(buffer, start, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[halves[i] as number] as number;
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32: shift the bits into place.
      const halves = new Uint16Array(buffer, start, count);
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = (halves[i] as number) << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F64':
      return Float32Array.from(new Float64Array(buffer, start, count));
    case 'I32':
      return Float32Array.from(new Int32Array(buffer, start, count));
    case 'I64':
      return Float32Array.from(new BigInt64Array(buffer, start, count), (v) => Number(v));
  }
}

function decodeWithDataView(
  bytes: Uint8Array,
  offset: number,
  count: number,
  dtype: SafetensorsDtype,
): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * DTYPE_BYTES[dtype]);
  const out = new Float32Array(count);
  const table = float16Table();
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F32':
        out[i] = view.getFloat32(i * 4, true);
        break;
      case 'F16':
        out[i] = table[view.getUint16(i * 2, true)] as number;
        break;
      case 'BF16':
        f32Scratch[0] = 0;
        u32Scratch[0] = view.getUint16(i * 2, true) << 16;
        out[i] = f32Scratch[0];
        break;
      case 'F64':
        out[i] = view.getFloat64(i * 8, true);
        break;
      case 'I32':
        out[i] = view.getInt32(i * 4, true);
        break;
      case 'I64':
        out[i] = Number(view.getBigInt64(i * 8, true));
        break;
    }
  }
  return out;
}

/** Parses a whole safetensors file held in memory; every tensor is converted to float32. */
export function parseSafetensors(bytes: Uint8Array, sourceName: string): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes, sourceName);
  const tensors = header.entries.map((entry) => ({
    name: entry.name,
    dtype: entry.dtype,
    shape: entry.shape,
    data: decodeToFloat32(bytes, header.dataStart + entry.dataOffsets[0], numel(entry.shape), entry.dtype),
  }));
  return { metadata: header.metadata, tensors, fileBytes: bytes.length };
}

function fileError(path: string, error: unknown): VetbenchError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return new VetbenchError('file-not-found', `${path} does not exist`, 'Check the path.');
  if (code === 'EISDIR') {
    return new VetbenchError(
      'file-is-directory',
      `${path} is a folder`,
      'Pass the .safetensors file inside it.',
    );
  }
  return new VetbenchError(
    'file-unreadable',
    `cannot read ${path}: ${(error as Error).message}`,
    'Check the path and the file permissions.',
  );
}

/** Opens a regular file, turning "not found", "is a folder", FIFOs, devices and permission failures into advice. */
async function openForReading(path: string): Promise<FileHandle> {
  return openRegularFile(path, { what: 'weights or tensors' });
}

/** Reads a whole file into one Buffer (chunked, so files above 2 GiB work), hashing it on the way if asked. */
export async function readFileWithHash(
  path: string,
  wantHash: boolean,
): Promise<{ bytes: Buffer; sha256?: string }> {
  const handle = await openForReading(path);
  try {
    const { size } = await handle.stat();
    if (size > bufferConstants.MAX_LENGTH) {
      throw new VetbenchError(
        'file-too-large',
        `${path} has ${size} bytes, more than this Node.js can hold in one buffer (${bufferConstants.MAX_LENGTH})`,
        'Save the weights in float16 to halve the file, or use a newer Node.js.',
      );
    }
    const bytes = Buffer.allocUnsafe(size);
    const hash = wantHash ? createHash('sha256') : undefined;
    const chunk = 1 << 26;
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(bytes, filled, Math.min(chunk, size - filled), filled);
      if (bytesRead === 0) break;
      hash?.update(bytes.subarray(filled, filled + bytesRead));
      filled += bytesRead;
    }
    if (filled !== size) {
      throw new VetbenchError(
        'file-unreadable',
        `${path} shrank while being read`,
        'Wait until the file is fully written.',
      );
    }
    return hash ? { bytes, sha256: hash.digest('hex') } : { bytes };
  } catch (e) {
    if (e instanceof VetbenchError) throw e;
    throw fileError(path, e);
  } finally {
    await handle.close();
  }
}

/** SHA-256 of a file, hex, streamed in chunks (no whole-file buffer). */
export async function sha256File(path: string): Promise<string> {
  const handle = await openForReading(path);
  try {
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 22, autoClose: false })) {
      hash.update(chunk as Buffer);
    }
    return hash.digest('hex');
  } catch (e) {
    throw fileError(path, e);
  } finally {
    await handle.close();
  }
}

export interface ReadSafetensorsOptions {
  /** Also compute the SHA-256 of the file while reading it. */
  readonly sha256?: boolean;
}

/** Reads the file once into memory and converts tensor by tensor (peak: the file + the float32 tensors). */
export async function readSafetensors(
  path: string,
  options: ReadSafetensorsOptions = {},
): Promise<SafetensorsFile> {
  const { bytes, sha256 } = await readFileWithHash(path, options.sha256 ?? false);
  const parsed = parseSafetensors(bytes, path);
  return sha256 === undefined ? parsed : { ...parsed, sha256 };
}

/** Reads only the header (names, dtypes, shapes, metadata) without loading tensor data. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await openForReading(path);
  try {
    const { size } = await handle.stat();
    const prefix = Buffer.alloc(Math.min(size, 8));
    await handle.read(prefix, 0, prefix.length, 0);
    let headerEnd = prefix.length;
    if (prefix.length === 8) {
      const declared = prefix.readBigUInt64LE(0);
      // Clamp to the file size and limit: parseSafetensorsHeader reports the precise problem.
      headerEnd = 8 + Number(declared > BigInt(MAX_HEADER_BYTES) ? 0n : declared);
      headerEnd = Math.min(headerEnd, size);
    }
    const bytes = Buffer.alloc(headerEnd);
    await handle.read(bytes, 0, headerEnd, 0);
    return parseSafetensorsHeader(bytes, path, size);
  } catch (e) {
    if (e instanceof VetbenchError) throw e;
    throw fileError(path, e);
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writing

function encodeTensor(tensor: WritableTensor): Uint8Array {
  const dtype = tensor.dtype ?? 'F32';
  const data = tensor.data;
  if (!IS_LITTLE_ENDIAN) {
    const out = new Uint8Array(data.length * DTYPE_BYTES[dtype]);
    const view = new DataView(out.buffer);
    for (let i = 0; i < data.length; i++) {
      const value = data[i] as number;
      if (dtype === 'F32') view.setFloat32(i * 4, value, true);
      else
        view.setUint16(i * 2, (dtype === 'F16' ? float32ToFloat16Bits : float32ToBfloat16Bits)(value), true);
    }
    return out;
  }
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Work on the raw bits of the whole tensor: no per-value float round trip.
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  if (dtype === 'F16')
    for (let i = 0; i < bits.length; i++) out[i] = halfBitsFromFloatBits(bits[i] as number);
  else for (let i = 0; i < bits.length; i++) out[i] = bfloatBitsFromFloatBits(bits[i] as number);
  return new Uint8Array(out.buffer);
}

function validateForWriting(
  tensors: readonly WritableTensor[],
  metadata: Record<string, string> | undefined,
): void {
  const invalid = (problem: string) =>
    new VetbenchError(
      'safetensors-invalid-tensor',
      `cannot write safetensors: ${problem}`,
      'Fix the tensor list.',
    );
  const seen = new Set<string>();
  for (const tensor of tensors) {
    if (tensor.name.length === 0 || tensor.name === '__metadata__')
      throw invalid(`invalid name '${tensor.name}'`);
    if (seen.has(tensor.name)) throw invalid(`two tensors are named '${tensor.name}'`);
    seen.add(tensor.name);
    if (!tensor.shape.every(isDimension))
      throw invalid(`'${tensor.name}' has shape ${formatShape(tensor.shape)}`);
    if (tensor.data.length !== numel(tensor.shape)) {
      throw invalid(
        `'${tensor.name}' has ${tensor.data.length} values for shape ${formatShape(tensor.shape)}`,
      );
    }
    const dtype = tensor.dtype ?? 'F32';
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16')
      throw invalid(`'${tensor.name}' has dtype ${dtype}`);
  }
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== 'string') throw invalid(`metadata '${key}' is not a string`);
  }
}

/** The header bytes and the tensor data, in the order the file holds them. */
function layoutSafetensors(
  tensors: readonly WritableTensor[],
  metadata: Record<string, string> | undefined,
): { header: Uint8Array; ordered: WritableTensor[] } {
  validateForWriting(tensors, metadata);
  // Like the reference writer: widest dtype first, then by name, so every tensor is aligned to its dtype size.
  const ordered = [...tensors].sort((a, b) => {
    const width = DTYPE_BYTES[b.dtype ?? 'F32'] - DTYPE_BYTES[a.dtype ?? 'F32'];
    return width !== 0 ? width : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of ordered) {
    const dtype = tensor.dtype ?? 'F32';
    const bytes = tensor.data.length * DTYPE_BYTES[dtype];
    header[tensor.name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces to a multiple of 8 so the data buffer starts 8-byte aligned (as the reference does).
  const padded = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  padded.set(json, 0);
  const full = new Uint8Array(8 + padded.length);
  new DataView(full.buffer).setBigUint64(0, BigInt(padded.length), true);
  full.set(padded, 8);
  return { header: full, ordered };
}

/** The whole file in memory (tests, small exports). */
export function encodeSafetensors(
  tensors: readonly WritableTensor[],
  metadata?: Record<string, string>,
): Uint8Array {
  const { header, ordered } = layoutSafetensors(tensors, metadata);
  const parts = [header, ...ordered.map(encodeTensor)];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Writes a safetensors file atomically: everything goes to a temporary file beside the target, which is
 * flushed and then renamed, so readers see either the old file or the complete new one.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly WritableTensor[],
  metadata?: Record<string, string>,
): Promise<void> {
  const { header, ordered } = layoutSafetensors(tensors, metadata);
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.write(header);
      for (const tensor of ordered) await handle.write(encodeTensor(tensor)); // one tensor converted at a time
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (e) {
    await unlink(temporary).catch(() => undefined);
    if (e instanceof VetbenchError) throw e;
    throw new VetbenchError(
      'file-unwritable',
      `cannot write ${path}: ${(e as Error).message}`,
      'Check that the folder exists, is writable and has free space.',
    );
  }
}
