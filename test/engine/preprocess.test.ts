import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { VetbenchError } from '../../engine/errors.js';
import { decodeImage, type RgbImage } from '../../engine/image/decode.js';
import {
  CLIP_MEAN,
  CLIP_STD,
  normalizePixels,
  preprocessBatch,
  preprocessImage,
  stackPixels,
  toModelPixels,
} from '../../engine/image/preprocess.js';
import { centerCrop, resizeBicubic, resizeShortSide, roundHalfEven } from '../../engine/image/resize.js';
import { parseNpy } from '../../engine/tensor/npy.js';

// Reference made by test/fixtures/preprocess/make_reference.py (Pillow + numpy); see manifest.json.
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'preprocess');

interface Manifest {
  mean: number[];
  std: number[];
  files: { file: string; note: string; decoded: string }[];
  resize: {
    source: string;
    width: number;
    height: number;
    box?: [number, number, number, number];
    reference: string;
  }[];
  clip: { source: string; resolution: number; reference: string }[];
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as Manifest;

function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** A reference array written by make_reference.py (uint8 images or float32 tensors). */
function readNpy(path: string): {
  dtype: 'uint8' | 'float32';
  shape: number[];
  data: Uint8Array | Float32Array;
} {
  const a = parseNpy(readFileSync(path), path);
  if (a.values instanceof Uint8Array) return { dtype: 'uint8', shape: a.shape, data: a.values };
  if (a.values instanceof Float32Array) return { dtype: 'float32', shape: a.shape, data: a.values };
  throw new Error(`${path}: expected uint8 or float32, got ${a.dtype}`);
}

/** A decoded reference (.npy, uint8 [H, W, 3]) as an RgbImage. */
function referenceImage(npyName: string): RgbImage {
  const a = readNpy(fixture(npyName));
  if (!(a.data instanceof Uint8Array) || a.shape.length !== 3 || a.shape[2] !== 3) {
    throw new Error(`${npyName}: expected uint8 [H, W, 3], got ${a.dtype} [${a.shape.join(', ')}]`);
  }
  return { height: a.shape[0]!, width: a.shape[1]!, data: a.data };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const decodedOf = (file: string): string => `decoded_${file}.npy`;

describe('resizeBicubic equals Pillow Image.resize(BICUBIC)', () => {
  it.each(
    manifest.resize.map((r) => [`${r.source} -> ${r.width}x${r.height}${r.box ? ' box' : ''}`, r] as const),
  )('%s', (_label, r) => {
    const src = referenceImage(decodedOf(r.source));
    const out = resizeBicubic(src, r.width, r.height, r.box);
    const ref = referenceImage(r.reference);
    expect([out.width, out.height]).toEqual([ref.width, ref.height]);
    expect(maxAbsDiff(out.data, ref.data)).toBe(0);
  });

  it('returns a copy when nothing changes and rejects bad sizes and boxes', () => {
    const src = referenceImage(decodedOf('rgb_37x23.png'));
    const same = resizeBicubic(src, 37, 23);
    expect(same.data).toEqual(src.data);
    expect(same.data).not.toBe(src.data);
    expect(() => resizeBicubic(src, 0, 5)).toThrow(RangeError);
    expect(() => resizeBicubic(src, 5.5, 5)).toThrow(RangeError);
    expect(() => resizeBicubic(src, 5, 5, [0, 0, 38, 23])).toThrow(RangeError);
  });
});

describe('torchvision Resize(int) + CenterCrop geometry', () => {
  it('rounds half to even like Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 6.5, 7, -1.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 6, 7, -2]);
  });

  it('truncates the long side and keeps the aspect orientation', () => {
    const land = referenceImage(decodedOf('rgb_37x23.png'));
    expect([resizeShortSide(land, 32).width, resizeShortSide(land, 32).height]).toEqual([51, 32]); // 51.47
    const port = referenceImage(decodedOf('rgb_50x64.png'));
    expect([resizeShortSide(port, 32).width, resizeShortSide(port, 32).height]).toEqual([32, 40]); // 40.96
    expect(resizeShortSide(port, 50)).toBe(port);
  });

  it('centre-crops at round((w - cw) / 2) with ties to even', () => {
    // 45 wide -> 32: offset round(6.5) = 6, not 7
    const img: RgbImage = { width: 45, height: 32, data: new Uint8Array(45 * 32 * 3).map((_, i) => i % 251) };
    const c = centerCrop(img, 32);
    expect(c.data.subarray(0, 3)).toEqual(img.data.subarray(6 * 3, 6 * 3 + 3));
    // 35 -> 32: round(1.5) = 2
    const img2: RgbImage = {
      width: 32,
      height: 35,
      data: new Uint8Array(32 * 35 * 3).map((_, i) => i % 253),
    };
    expect(centerCrop(img2, 32).data.subarray(0, 3)).toEqual(img2.data.subarray(2 * 32 * 3, 2 * 32 * 3 + 3));
  });

  it('zero-pads when the crop is larger, as torchvision does', () => {
    const img: RgbImage = { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
    const c = centerCrop(img, 5, 2);
    // pad left (5-2)//2 = 1, right 2, top 0, bottom 1
    expect([...c.data.subarray(0, 15)]).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0]);
    expect([...c.data.subarray(15)].every((v) => v === 0)).toBe(true);
  });
});

describe('decodeImage equals Pillow Image.open(f).convert("RGB")', () => {
  it.each(manifest.files.map((f) => [`${f.file} (${f.note})`, f] as const))('%s', async (_label, f) => {
    const ref = referenceImage(f.decoded);
    const img = await decodeImage(fixture(f.file));
    expect([img.width, img.height]).toEqual([ref.width, ref.height]);
    expect(img.data.length).toBe(img.width * img.height * 3);
    expect(maxAbsDiff(img.data, ref.data)).toBe(0);
  });

  it('reads bytes as well as paths', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('rgb_45x35_q90.jpg')));
    const img = await decodeImage(bytes, 'in-memory.jpg');
    expect(maxAbsDiff(img.data, referenceImage(decodedOf('rgb_45x35_q90.jpg')).data)).toBe(0);
  });

  it('ignores EXIF orientation (Pillow does not rotate)', async () => {
    expect(await sharp(fixture('exif6_24x16.jpg')).metadata()).toMatchObject({ orientation: 6 });
    const img = await decodeImage(fixture('exif6_24x16.jpg'));
    expect([img.width, img.height]).toEqual([24, 16]);
  });

  it('ignores embedded ICC profiles (the fixture profile would change pixels if honoured)', async () => {
    const managed = await sharp(fixture('icc_linear_21x18.png')).removeAlpha().raw().toBuffer();
    const ref = referenceImage(decodedOf('icc_linear_21x18.png'));
    expect(maxAbsDiff(managed, ref.data)).toBeGreaterThan(10);
  });

  it('decodes AVIF', async () => {
    const src = referenceImage(decodedOf('rgb_50x64.png'));
    const avif = await sharp(src.data, { raw: { width: src.width, height: src.height, channels: 3 } })
      .avif({ quality: 90 })
      .toBuffer();
    const img = await decodeImage(new Uint8Array(avif), 'x.avif');
    expect([img.width, img.height]).toEqual([50, 64]);
    let sum = 0;
    for (let i = 0; i < img.data.length; i++) sum += Math.abs(img.data[i]! - src.data[i]!);
    expect(sum / img.data.length).toBeLessThan(20); // lossy, noisy source: only roughly equal
  });
});

describe('full CLIP pre-processing equals the torchvision reference', () => {
  it.each(manifest.clip.map((c) => [`${c.source} @ ${c.resolution}`, c] as const))(
    '%s',
    async (_label, c) => {
      const ref = readNpy(fixture(c.reference));
      expect(ref.dtype).toBe('float32');
      expect(ref.shape).toEqual([3, c.resolution, c.resolution]);
      const out = await preprocessImage(fixture(c.source), c.resolution);
      expect(out.length).toBe(ref.data.length);
      const diff = maxAbsDiff(out, ref.data);
      expect(diff).toBeLessThanOrEqual(1e-6);
      expect(diff).toBe(0); // same float32 operations as torch, so in fact bit-identical
    },
  );

  it('exports the CLIP constants used by the reference', () => {
    expect(CLIP_MEAN.map((v) => Math.fround(v))).toEqual(manifest.mean);
    expect(CLIP_STD.map((v) => Math.fround(v))).toEqual(manifest.std);
  });

  it('toModelPixels gives [0,1] CHW and normalizePixels works in place', async () => {
    const img = await decodeImage(fixture('rgb_37x23.png'));
    const px = toModelPixels(img, 24);
    expect(px.length).toBe(3 * 24 * 24);
    expect(Math.min(...px)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    const copy = normalizePixels(px);
    expect(copy).not.toBe(px);
    const inPlace = normalizePixels(px, px);
    expect(inPlace).toBe(px);
    expect(maxAbsDiff(copy, inPlace)).toBe(0);
    expect(maxAbsDiff(inPlace, readNpy(fixture('clip24_rgb_37x23.png.npy')).data)).toBe(0);
  });

  it('stacks a batch as [N, 3, R, R] in input order', async () => {
    const files = ['rgb_50x64.png', 'rgb_37x23.png'];
    const batch = await preprocessBatch(
      files.map((f) => fixture(f)),
      24,
    );
    expect(batch.shape).toEqual([2, 3, 24, 24]);
    files.forEach((f, i) => {
      const ref = readNpy(fixture(`clip24_${f}.npy`)).data;
      expect(maxAbsDiff(batch.data.subarray(i * ref.length, (i + 1) * ref.length), ref)).toBe(0);
    });
    // normalising the stacked [0,1] pixels plane by plane gives the same batch
    const raw = stackPixels(
      await Promise.all(files.map(async (f) => toModelPixels(await decodeImage(fixture(f)), 24))),
      24,
    );
    expect(maxAbsDiff(normalizePixels(raw, undefined, 24 * 24), batch.data)).toBe(0);
    expect(() => stackPixels([new Float32Array(5)], 24)).toThrow(RangeError);
  });

  it('rejects a bad resolution with a VetbenchError', async () => {
    await expect(preprocessImage(fixture('rgb_37x23.png'), 0)).rejects.toMatchObject({
      code: 'bad-resolution',
    });
  });
});

describe('bad image files give a VetbenchError with a code and a hint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vetbench-preprocess-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const jpg = readFileSync(fixture('rgb_45x35_q90.jpg'));
  const png = readFileSync(fixture('rgb_50x64.png'));
  const headerless = Buffer.from(jpg);
  headerless.fill(0x5a, 20, 200); // wreck the quantisation and Huffman tables
  const bmp = Buffer.alloc(64);
  bmp.write('BM', 0, 'latin1');
  const cases: [string, Uint8Array, string][] = [
    ['empty.jpg', new Uint8Array(0), 'image-empty'],
    ['truncated.jpg', jpg.subarray(0, Math.floor(jpg.length * 0.6)), 'image-truncated'],
    ['no-eoi.jpg', jpg.subarray(0, jpg.length - 2), 'image-truncated'],
    ['truncated.png', png.subarray(0, Math.floor(png.length * 0.6)), 'image-truncated'],
    ['corrupt.jpg', headerless, 'image-corrupt'],
    ['noise.bin', Uint8Array.from({ length: 500 }, (_, i) => (i * 7919) % 251), 'image-unsupported'],
    ['text.jpg', Buffer.from('this is not an image at all'), 'image-unsupported'],
    ['picture.bmp', bmp, 'image-unsupported'],
    [
      'vector.svg',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>'),
      'image-unsupported',
    ],
  ];

  async function decodeError(input: Uint8Array | string, name?: string): Promise<VetbenchError> {
    try {
      await decodeImage(input, name);
    } catch (err) {
      expect(err).toBeInstanceOf(VetbenchError);
      return err as VetbenchError;
    }
    throw new Error('decodeImage did not fail');
  }

  it.each(cases)('%s -> %s', async (name, bytes, code) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    const fromPath = await decodeError(path);
    expect(fromPath.code).toBe(code);
    expect(fromPath.message).toContain(name);
    expect(fromPath.hint.length).toBeGreaterThan(10);
    // same verdict from bytes, named by sourceName
    const fromBytes = await decodeError(new Uint8Array(bytes), `dataset/${name}`);
    expect(fromBytes.code).toBe(code);
    expect(fromBytes.message).toContain(`dataset/${name}`);
  });

  it('a missing file -> image-not-found', async () => {
    expect((await decodeError(join(dir, 'nope.png'))).code).toBe('image-not-found');
  });

  it('a directory -> image-unreadable', async () => {
    expect((await decodeError(dir)).code).toBe('image-unreadable');
  });
});
