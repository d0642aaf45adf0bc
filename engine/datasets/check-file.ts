import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import sharp from 'sharp';
import { VetbenchError } from '../errors.js';
import { decodeImage, type RgbImage } from '../image/decode.js';
import type { ImageFormat, SkipCode } from './dataset.js';
import {
  describeNonImage,
  missingEnd,
  SNIFF_BYTES,
  sniffImageFormat,
  SUPPORTED_FORMATS_TEXT,
  TAIL_BYTES,
} from './image-format.js';

export type FileCheck =
  | {
      readonly ok: true;
      readonly sha256: string;
      readonly bytes: number;
      readonly format: ImageFormat;
      readonly width: number;
      readonly height: number;
    }
  | { readonly ok: false; readonly code: SkipCode; readonly reason: string };

export interface CheckFileOptions {
  /** Decode every pixel (catches truncation) instead of reading only the header. */
  readonly verify?: boolean;
  /** Wraps full decodes, e.g. a limiter so a wide hashing pool does not hold many decoded images at once. */
  readonly decodeSlot?: <R>(task: () => Promise<R>) => Promise<R>;
}

/** The name decode errors are worded with here; stripped again from their messages. */
const DECODE_SOURCE_NAME = 'image';

/** O_NONBLOCK so that a FIFO slipped in where a file was expected cannot hang the import (no-op on files). */
const OPEN_FLAGS = constants.O_NONBLOCK === undefined ? 'r' : constants.O_RDONLY | constants.O_NONBLOCK;

/** Files up to this size are read in one go (hash, sniff and header from one buffer); larger ones are streamed. */
const WHOLE_READ_LIMIT = 1024 * 1024;

/** Same options as engine/image/decode.ts, so a file that passes here is read the same way by the loader. */
const HEADER_OPTIONS = { failOn: 'error', ignoreIcc: true, autoOrient: false } as const;

/**
 * Hash a file and check that it is a readable image: magic bytes, then sharp's header parse (cheap), then with
 * `verify` a full decode through the same code path the loader uses. Never throws for a bad file; the reason
 * comes back instead.
 */
export async function checkImageFile(path: string, options: CheckFileOptions = {}): Promise<FileCheck> {
  let content: FileContent;
  try {
    content = await readAndHash(path);
  } catch (err) {
    return unreadable(err);
  }
  if (content.bytes === 0) return { ok: false, code: 'empty', reason: 'empty file (0 bytes)' };

  const sniffed = sniffImageFormat(content.head);
  if (sniffed.kind === 'unsupported') {
    return {
      ok: false,
      code: 'unsupported-format',
      reason: `${sniffed.what} is not supported; convert it to ${SUPPORTED_FORMATS_TEXT}`,
    };
  }
  if (sniffed.kind === 'unknown') {
    return {
      ok: false,
      code: 'not-an-image',
      reason: `not an image: the content is ${describeNonImage(content.head)}, not ${SUPPORTED_FORMATS_TEXT}`,
    };
  }

  const source = content.whole ?? path;
  // A file whose end marker is missing is probably cut short: decode it fully even without `verify`, so
  // the default (header-only) check still catches truncation at little cost (complete files skip this).
  const suspicious = missingEnd(sniffed.format, content.head, content.tail, content.bytes) === true;
  const size =
    options.verify || suspicious ? await fullyDecoded(source, options.decodeSlot) : await headerSize(source);
  if ('error' in size) return truncatedByStructure(sniffed.format, content) ?? size.error;
  if (!(size.width > 0 && size.height > 0)) {
    return { ok: false, code: 'corrupt', reason: 'the header gives no image size' };
  }
  return { ok: true, sha256: content.sha256, bytes: content.bytes, format: sniffed.format, ...size };
}

type ImageSize = { readonly width: number; readonly height: number } | { readonly error: DecodeSkip };

async function headerSize(source: Buffer | string): Promise<ImageSize> {
  try {
    const meta = await sharp(source, HEADER_OPTIONS).metadata();
    return { width: meta.width, height: meta.height };
  } catch (err) {
    return { error: fromSharpError(err) };
  }
}

/** A full decode through engine/image/decode.ts, which reads the header itself: no separate header check. */
async function fullyDecoded(
  source: Buffer | string,
  decodeSlot: CheckFileOptions['decodeSlot'],
): Promise<ImageSize> {
  const decode = (): Promise<RgbImage> => decodeImage(source, DECODE_SOURCE_NAME);
  try {
    const image = await (decodeSlot ? decodeSlot(decode) : decode());
    return { width: image.width, height: image.height };
  } catch (err) {
    return { error: skipFromDecodeError(err) };
  }
}

interface FileContent {
  readonly sha256: string;
  readonly bytes: number;
  /** The first bytes, for the magic-byte check. */
  readonly head: Uint8Array;
  /** The last bytes, to tell a truncated file from a corrupt one. */
  readonly tail: Uint8Array;
  /** The whole file when it was small enough to read in one go. */
  readonly whole: Buffer | null;
}

/**
 * Small files are read synchronously: every async fs call is a thread-pool round trip, and for a 3 KB CIFAR
 * JPEG the four of them (open, stat, read, close) cost five times the read itself. Each such read blocks the
 * event loop for microseconds only. Larger files are streamed through the hash so memory stays bounded.
 */
async function readAndHash(path: string): Promise<FileContent> {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    if (info.size <= WHOLE_READ_LIMIT) {
      const whole = readFileSync(fd);
      return {
        sha256: createHash('sha256').update(whole).digest('hex'),
        bytes: whole.length,
        head: whole.subarray(0, SNIFF_BYTES),
        tail: whole.subarray(Math.max(0, whole.length - TAIL_BYTES)),
        whole,
      };
    }
    const hash = createHash('sha256');
    let head: Buffer = Buffer.alloc(0);
    let tail: Buffer = Buffer.alloc(0);
    let bytes = 0;
    for await (const chunk of createReadStream('', { fd, autoClose: false, highWaterMark: 1 << 20 })) {
      const buffer = chunk as Buffer;
      if (head.length < SNIFF_BYTES)
        head = Buffer.concat([head, buffer.subarray(0, SNIFF_BYTES - head.length)]);
      tail = Buffer.concat([tail, buffer.subarray(Math.max(0, buffer.length - TAIL_BYTES))]);
      tail = tail.subarray(Math.max(0, tail.length - TAIL_BYTES));
      hash.update(buffer);
      bytes += buffer.length;
    }
    return { sha256: hash.digest('hex'), bytes, head, tail, whole: null };
  } finally {
    closeSync(fd);
  }
}

function truncatedByStructure(format: ImageFormat, content: FileContent): DecodeSkip | undefined {
  if (missingEnd(format, content.head, content.tail, content.bytes) !== true) return undefined;
  return {
    ok: false,
    code: 'truncated',
    reason: `truncated file: the ${format.toUpperCase()} data stops before its end marker`,
  };
}

function unreadable(err: unknown): FileCheck {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EISDIR') return { ok: false, code: 'not-a-file', reason: 'not a regular file' };
  return {
    ok: false,
    code: 'unreadable',
    reason: `cannot read the file (${code ?? (err instanceof Error ? err.message : String(err))})`,
  };
}

/** sharp only reports message text; sort it into truncated vs corrupt the way engine/image/decode.ts does. */
function fromSharpError(err: unknown): DecodeSkip {
  const detail = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  if (/premature end|end of stream|unexpected end|truncat|end of file|end of data/i.test(detail)) {
    return { ok: false, code: 'truncated', reason: `truncated file (${detail})` };
  }
  if (/pixel limit/i.test(detail)) {
    return { ok: false, code: 'too-large', reason: `too many pixels to decode safely (${detail})` };
  }
  return { ok: false, code: 'corrupt', reason: `corrupt image (${detail})` };
}

/** engine/image/decode.ts error codes and the skip codes they become; anything else is `corrupt`. */
const DECODE_ERROR_SKIPS: Readonly<Record<string, SkipCode>> = {
  'image-truncated': 'truncated',
  'image-too-large': 'too-large',
  'image-unsupported': 'unsupported-format',
  'image-empty': 'empty',
  'image-not-found': 'missing',
  'image-unreadable': 'unreadable',
};

export interface DecodeSkip {
  readonly ok: false;
  readonly code: SkipCode;
  readonly reason: string;
}

/** Map a decode failure (a VetbenchError from engine/image/decode.ts, or anything else) to a skip reason. */
export function skipFromDecodeError(err: unknown, sourceName = DECODE_SOURCE_NAME): DecodeSkip {
  if (err instanceof VetbenchError) {
    // decodeImage prefixes messages with the source name; the skip entry already carries the path
    const prefix = `${sourceName}: `;
    const reason = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    return { ok: false, code: DECODE_ERROR_SKIPS[err.code] ?? 'corrupt', reason };
  }
  return fromSharpError(err);
}

/**
 * Why a file failed to decode, for the loader: libvips' wording when it survives, corrected to `truncated` when
 * the file visibly stops before its end marker (reads only the first and last few bytes).
 */
export async function explainDecodeFailure(
  path: string,
  err: unknown,
  sourceName: string,
): Promise<DecodeSkip> {
  const fallback = skipFromDecodeError(err, sourceName);
  if (fallback.code !== 'corrupt') return fallback;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const head = Buffer.alloc(Math.min(SNIFF_BYTES, size));
      const tail = Buffer.alloc(Math.min(TAIL_BYTES, size));
      await handle.read(head, 0, head.length, 0);
      await handle.read(tail, 0, tail.length, size - tail.length);
      const sniffed = sniffImageFormat(head);
      if (sniffed.kind !== 'image') return fallback;
      return (
        truncatedByStructure(sniffed.format, { sha256: '', bytes: size, head, tail, whole: null }) ?? fallback
      );
    } finally {
      await handle.close();
    }
  } catch {
    return fallback;
  }
}
