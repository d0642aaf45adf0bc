import { extname } from 'node:path';
import type { ImageFormat } from './dataset.js';

const EXTENSION_FORMATS: Readonly<Record<string, ImageFormat>> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.jpe': 'jpeg',
  '.jfif': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
  '.gif': 'gif',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.avif': 'avif',
};

export const SUPPORTED_FORMATS_TEXT = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

/** Bytes needed by `sniffImageFormat`: an ISO-BMFF `ftyp` box with a few compatible brands. */
export const SNIFF_BYTES = 64;

/** The format a file name claims, or undefined when its extension is not an image type Vetbench reads. */
export function formatFromExtension(fileName: string): ImageFormat | undefined {
  return EXTENSION_FORMATS[extname(fileName).toLowerCase()];
}

export type SniffResult =
  | { readonly kind: 'image'; readonly format: ImageFormat }
  | { readonly kind: 'unsupported'; readonly what: string }
  | { readonly kind: 'unknown' };

/**
 * What a file really is, from its first bytes. Content wins over the extension: a PNG saved as `.jpg` is common
 * in scraped data and decodes fine, while random bytes or text named `.jpg` must be refused before sharp.
 */
export function sniffImageFormat(head: Uint8Array): SniffResult {
  const ascii = (from: number, to: number): string =>
    String.fromCharCode(...head.subarray(from, Math.min(to, head.length)));
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return image('jpeg');
  if (head[0] === 0x89 && ascii(1, 8) === 'PNG\r\n\x1a\n') return image('png');
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return image('gif');
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return image('webp');
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return image('tiff');
  if (ascii(4, 8) === 'ftyp') {
    const brands = ftypBrands(head);
    if (brands.includes('avif') || brands.includes('avis')) return image('avif');
    return { kind: 'unsupported', what: `HEIF/ISO media (${brands[0] ?? 'unknown brand'})` };
  }
  if (ascii(0, 2) === 'BM') return { kind: 'unsupported', what: 'BMP' };
  if (ascii(0, 5) === '%PDF-') return { kind: 'unsupported', what: 'PDF' };
  if (/^\s*<(\?xml|svg)/i.test(ascii(0, 64))) return { kind: 'unsupported', what: 'SVG/XML' };
  return { kind: 'unknown' };
}

function image(format: ImageFormat): SniffResult {
  return { kind: 'image', format };
}

/** Major brand then compatible brands of an `ftyp` box, as far as `head` holds them. */
function ftypBrands(head: Uint8Array): string[] {
  const boxSize = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  const end = Math.min(boxSize, head.length);
  const brands: string[] = [];
  const major = String.fromCharCode(...head.subarray(8, 12));
  if (major.length === 4) brands.push(major);
  // bytes 12..16 are the minor version; compatible brands follow, 4 bytes each
  for (let at = 16; at + 4 <= end; at += 4) brands.push(String.fromCharCode(...head.subarray(at, at + 4)));
  return brands;
}

/** A short description of bytes that are not an image, for skip reasons ("text", "empty", "binary data"). */
export function describeNonImage(head: Uint8Array): string {
  if (head.length === 0) return 'no data';
  let printable = 0;
  for (const b of head) if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 0xc0) printable++;
  return printable / head.length > 0.95 ? 'text' : 'unrecognised binary data';
}

/** Bytes kept from the end of a file for `missingEnd`. */
export const TAIL_BYTES = 32;

/**
 * Whether a file of this format visibly stops early: no JPEG end-of-image marker, no PNG IEND chunk, no GIF
 * trailer, or less data than the WebP RIFF header announces. This is structural, so it tells "truncated" from
 * "corrupt" even when libvips' message is lost (its error buffer is shared between threads and concurrent
 * failures can leave "Unknown error"). TIFF and AVIF have no end marker: undefined.
 */
export function missingEnd(
  format: ImageFormat,
  head: Uint8Array,
  tail: Uint8Array,
  size: number,
): boolean | undefined {
  let end = tail.length;
  // some writers pad after the end marker
  while (end > 0 && tail[end - 1] === 0) end--;
  const last = tail.subarray(0, end);
  switch (format) {
    case 'jpeg':
      return !(last[last.length - 2] === 0xff && last[last.length - 1] === 0xd9);
    case 'png':
      return !String.fromCharCode(...tail).includes('IEND');
    case 'gif':
      return last[last.length - 1] !== 0x3b;
    case 'webp': {
      const riffSize = ((head[4]! | (head[5]! << 8) | (head[6]! << 16) | (head[7]! << 24)) >>> 0) + 8;
      return size < riffSize;
    }
    default:
      return undefined;
  }
}
