import { inflateRawSync } from 'node:zlib';
import { VetbenchError } from '../../errors.js';

/**
 * A read-only zip central-directory reader for checkpoints held in memory.
 *
 * Written here rather than taken from yauzl/fflate: torch archives are read whole into memory anyway (the
 * tensors end up there), torch stores entries uncompressed so entries are zero-copy views, and every offset
 * and size a hostile archive declares has to be checked against the buffer before anything is allocated,
 * which is easier to audit in ~150 lines than through a streaming library's callbacks. Deflated entries
 * (an archive re-packed by a zip tool) are inflated with Node's zlib under a cap of their declared size.
 */

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

export interface ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** The entry's bytes (a view for stored entries); refuses sizes that disagree with the archive. */
  read(name: string): Uint8Array;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const MAX_COMMENT = 0xffff;
const MAX_ENTRIES = 1_000_000;

export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04
  );
}

function damaged(sourceName: string, problem: string): VetbenchError {
  return new VetbenchError(
    'zip-malformed',
    `${sourceName}: damaged zip archive: ${problem}`,
    'The checkpoint is truncated or was tampered with; download it again.',
  );
}

export function openZip(bytes: Uint8Array, sourceName: string): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const within = (offset: number, length: number): boolean =>
    Number.isSafeInteger(offset) &&
    Number.isSafeInteger(length) &&
    offset >= 0 &&
    length >= 0 &&
    offset + length <= bytes.length;
  const u64 = (offset: number): number => {
    const v = view.getBigUint64(offset, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw damaged(sourceName, `a 64-bit size ${v} beyond any file`);
    return Number(v);
  };

  // The end-of-central-directory record sits in the last 22 + up to 65535 (comment) bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - MAX_COMMENT); i--) {
    if (view.getUint32(i, true) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw damaged(sourceName, 'no end-of-central-directory record');
  let count = view.getUint16(eocd + 10, true);
  let directorySize = view.getUint32(eocd + 12, true);
  let directoryOffset = view.getUint32(eocd + 16, true);
  if (eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_LOCATOR_SIGNATURE) {
    const zip64 = u64(eocd - 12);
    if (!within(zip64, 56) || view.getUint32(zip64, true) !== ZIP64_EOCD_SIGNATURE) {
      throw damaged(sourceName, 'the zip64 directory locator points outside the file');
    }
    count = u64(zip64 + 32);
    directorySize = u64(zip64 + 40);
    directoryOffset = u64(zip64 + 48);
  }
  if (count > MAX_ENTRIES) throw damaged(sourceName, `${count} entries declared`);
  if (!within(directoryOffset, directorySize)) {
    throw damaged(
      sourceName,
      `the central directory (${directorySize} bytes at ${directoryOffset}) lies outside the file`,
    );
  }

  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8');
  let p = directoryOffset;
  const end = directoryOffset + directorySize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > end || view.getUint32(p, true) !== CENTRAL_SIGNATURE) {
      throw damaged(sourceName, `central directory entry ${i} is cut off or has a bad signature`);
    }
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLength + extraLength + commentLength > end) {
      throw damaged(sourceName, `central directory entry ${i} runs past the directory`);
    }
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLength));
    // zip64 extra field: the 64-bit values replace the ones saturated at 0xffffffff, in this order.
    let extra = p + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let q = extra + 4;
        const take = (): number => {
          if (q + 8 > extra + 4 + length)
            throw damaged(sourceName, `entry '${name}' has a short zip64 field`);
          const v = u64(q);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      extra += 4 + length;
    }
    if (entries.has(name)) throw damaged(sourceName, `entry '${name}' appears twice`);
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p += 46 + nameLength + extraLength + commentLength;
  }

  return {
    entries,
    read(name: string): Uint8Array {
      const entry = entries.get(name);
      if (!entry) throw damaged(sourceName, `no entry '${name}'`);
      const local = entry.localHeaderOffset;
      if (!within(local, 30) || view.getUint32(local, true) !== LOCAL_SIGNATURE) {
        throw damaged(sourceName, `entry '${name}' has no local header at ${local}`);
      }
      const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      if (!within(dataStart, entry.compressedSize)) {
        throw damaged(
          sourceName,
          `entry '${name}' (${entry.compressedSize} bytes at ${dataStart}) runs past the end of the file`,
        );
      }
      const raw = bytes.subarray(dataStart, dataStart + entry.compressedSize);
      if (entry.method === 0) {
        if (entry.size !== entry.compressedSize) {
          throw damaged(
            sourceName,
            `stored entry '${name}' declares ${entry.size} bytes but holds ${entry.compressedSize}`,
          );
        }
        return raw;
      }
      if (entry.method === 8) {
        let out: Buffer;
        try {
          out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
        } catch (e) {
          throw damaged(
            sourceName,
            `entry '${name}' does not inflate to its declared ${entry.size} bytes (${(e as Error).message})`,
          );
        }
        if (out.length !== entry.size) {
          throw damaged(
            sourceName,
            `entry '${name}' inflates to ${out.length} bytes, not the declared ${entry.size}`,
          );
        }
        return out;
      }
      throw damaged(
        sourceName,
        `entry '${name}' uses compression method ${entry.method} (only stored and deflate are read)`,
      );
    },
  };
}
