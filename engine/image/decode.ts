import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { VetbenchError } from '../errors.js';

/** An 8-bit sRGB image, row-major HWC with 3 channels: what Pillow's `Image.open(f).convert('RGB')` gives. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

const HINT_REEXPORT = 're-export the file (e.g. as PNG or JPEG) or remove it from the dataset';

/**
 * Options shared by every sharp call. `failOn: 'error'` rejects truncated and broken files but, like Pillow,
 * tolerates libjpeg warnings (e.g. extraneous bytes). `ignoreIcc` because Pillow's convert('RGB') ignores
 * embedded profiles; sharp would otherwise colour-manage and shift every pixel.
 */
const SHARP_OPTIONS = { failOn: 'error', ignoreIcc: true, autoOrient: false } as const;

/** Vector formats sharp can rasterise but the reference (Pillow) cannot read; their pixels depend on density. */
const REJECTED_FORMATS = new Set(['svg', 'pdf']);

/**
 * Decode an image file or its bytes to 8-bit RGB, matching Pillow's `Image.open(f).convert('RGB')`:
 * first frame only, alpha dropped (not composited), greyscale replicated, 16-bit reduced to the high byte,
 * CMYK converted with Pillow's naive formula (no ICC), EXIF orientation NOT applied.
 * Differs from Pillow on purpose for 16-bit greyscale, which Pillow clips to 255 instead of scaling.
 */
export async function decodeImage(bytesOrPath: Uint8Array | string, sourceName?: string): Promise<RgbImage> {
  const name = sourceName ?? (typeof bytesOrPath === 'string' ? bytesOrPath : 'image');
  const bytes = typeof bytesOrPath === 'string' ? await readImageFile(bytesOrPath, name) : bytesOrPath;
  if (bytes.length === 0) {
    throw new VetbenchError('image-empty', `${name}: the file is empty (0 bytes)`, HINT_REEXPORT);
  }
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, SHARP_OPTIONS).metadata();
  } catch (err) {
    throw classifySharpError(err, name, bytes);
  }
  if (REJECTED_FORMATS.has(meta.format)) {
    throw new VetbenchError(
      'image-unsupported',
      `${name}: ${meta.format.toUpperCase()} is a vector format, not a raster image`,
      'rasterise it to PNG at the size you want, or remove it from the dataset',
    );
  }

  try {
    if (meta.space === 'cmyk') return await decodeCmyk(input);
    const { data, info } = await sharp(input, SHARP_OPTIONS)
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return checked({ width: info.width, height: info.height, data: asUint8(data) }, info.channels, name);
  } catch (err) {
    if (err instanceof VetbenchError) throw err;
    throw classifySharpError(err, name, bytes);
  }
}

async function readImageFile(path: string, name: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new VetbenchError(
        'image-not-found',
        `${name}: no such file`,
        'check the path and the dataset folder',
      );
    }
    throw new VetbenchError(
      'image-unreadable',
      `${name}: cannot read the file (${code ?? String(err)})`,
      'check that it is a regular file you have permission to read',
    );
  }
}

/**
 * Pillow opens CMYK JPEG/TIFF as raw CMYK (Adobe-inverted JPEGs un-inverted, as libvips also does) and
 * convert('RGB') applies `255 - k - c*(255-k)/255` per channel with integer MULDIV255 rounding, no ICC.
 * sharp would use a CMYK profile instead, so take the raw ink values and do Pillow's arithmetic.
 */
async function decodeCmyk(input: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(input, SHARP_OPTIONS)
    .pipelineColourspace('cmyk')
    .toColourspace('cmyk')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const stride = info.channels; // 5 when there is an alpha channel: ignored
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const nk = 255 - data[p * stride + 3]!;
    for (let c = 0; c < 3; c++) {
      const tmp = data[p * stride + c]! * nk + 128;
      const v = nk - (((tmp >> 8) + tmp) >> 8);
      out[p * 3 + c] = v < 0 ? 0 : v;
    }
  }
  return { width: info.width, height: info.height, data: out };
}

function asUint8(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function checked(img: RgbImage, channels: number, name: string): RgbImage {
  if (channels !== 3 || img.data.length !== img.width * img.height * 3) {
    throw new VetbenchError(
      'image-unsupported',
      `${name}: decoded to ${channels} channels, expected RGB`,
      'convert the file to an 8-bit RGB PNG or JPEG',
    );
  }
  return img;
}

/** Map sharp/libvips messages to codes: the message text is all sharp gives us. */
function classifySharpError(err: unknown, name: string, bytes: Uint8Array): VetbenchError {
  const detail = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(detail)) {
    return new VetbenchError(
      'image-too-large',
      `${name}: the image has too many pixels to decode safely (${detail})`,
      'downscale the file before adding it to the dataset',
    );
  }
  if (/premature end|end of stream|unexpected end|truncat|end of file|end of data/i.test(detail)) {
    return new VetbenchError('image-truncated', `${name}: the file is truncated (${detail})`, HINT_REEXPORT);
  }
  const sniffed = sniffFormat(bytes);
  if (/unsupported image format/i.test(detail)) {
    if (sniffed === 'bmp') {
      return new VetbenchError(
        'image-unsupported',
        `${name}: BMP images are not supported`,
        'convert the file to PNG or remove it from the dataset',
      );
    }
    if (sniffed === undefined) {
      return new VetbenchError(
        'image-unsupported',
        `${name}: not a recognised image format`,
        'use JPEG, PNG, WebP, GIF, TIFF or AVIF, or remove the file from the dataset',
      );
    }
  }
  const what = sniffed === undefined ? 'image' : sniffed.toUpperCase();
  return new VetbenchError(
    'image-corrupt',
    `${name}: the ${what} file is corrupt (${detail})`,
    HINT_REEXPORT,
  );
}

/** Recognise a format by its magic bytes, only to word error messages. */
function sniffFormat(b: Uint8Array): string | undefined {
  const ascii = (from: number, to: number): string => String.fromCharCode(...b.subarray(from, to));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'tiff';
  if (ascii(4, 8) === 'ftyp') return 'heif';
  if (ascii(0, 2) === 'BM') return 'bmp';
  return undefined;
}
