import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageLoader } from '../../engine/datasets/image-loader.js';
import { PixelCache } from '../../engine/datasets/pixel-cache.js';
import { decodeImage } from '../../engine/image/decode.js';
import { normalizePixels, preprocessImage, toModelPixels } from '../../engine/image/preprocess.js';
import { Rng } from '../../engine/util/rng.js';

const R = 16;
const IMAGE_FLOATS = 3 * R * R;
/** What one cached image weighs: [0, 1] pixels are kept as one byte each. */
const CACHED_BYTES = IMAGE_FLOATS;

let scratch: string;
let files: { path: string; relativePath: string }[];
let truncated: { path: string; relativePath: string };

async function writeImage(name: string, format: 'png' | 'jpeg', width: number, height: number, seed: number) {
  const rng = new Rng(seed);
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = rng.int(256);
  const bytes = await sharp(raw, { raw: { width, height, channels: 3 } })
    .toFormat(format)
    .toBuffer();
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return { path, relativePath: name, bytes };
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'vetbench-loader-'));
  files = [];
  // odd sizes and aspect ratios so resizing and cropping really happen
  const shapes: [number, number][] = [
    [40, 23],
    [23, 40],
    [17, 17],
    [64, 48],
    [9, 31],
    [33, 20],
  ];
  for (let i = 0; i < shapes.length; i++) {
    const [w, h] = shapes[i]!;
    files.push(await writeImage(`img${i}.${i % 2 ? 'jpg' : 'png'}`, i % 2 ? 'jpeg' : 'png', w, h, 100 + i));
  }
  const full = await writeImage('whole.jpg', 'jpeg', 80, 80, 7);
  writeFileSync(join(scratch, 'truncated.jpg'), full.bytes.subarray(0, Math.floor(full.bytes.length / 2)));
  truncated = { path: join(scratch, 'truncated.jpg'), relativePath: 'truncated.jpg' };
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('ImageLoader', () => {
  it('returns [N,3,R,R] batches equal to preprocessImage on the same files', async () => {
    const loader = new ImageLoader({ resolution: R });
    const batch = await loader.load(files);
    expect(batch.pixels.shape).toEqual([files.length, 3, R, R]);
    expect(batch.normalized).toBe(true);
    for (let i = 0; i < files.length; i++) {
      const expected = await preprocessImage(files[i]!.path, R);
      expect(batch.pixels.data.subarray(i * IMAGE_FLOATS, (i + 1) * IMAGE_FLOATS)).toEqual(expected);
    }
    // a second load comes from the cache and is identical
    const again = await loader.load(files);
    expect(again.pixels.data).toEqual(batch.pixels.data);
    expect(loader.cacheStats().hits).toBe(files.length);
  });

  it('can return un-normalised [0, 1] pixels, the space triggers are applied in', async () => {
    const loader = new ImageLoader({ resolution: R, normalize: false });
    const raw = await loader.load(files.slice(0, 2));
    expect(raw.normalized).toBe(false);
    const expected = toModelPixels(await decodeImage(files[0]!.path), R);
    expect(raw.pixels.data.subarray(0, IMAGE_FLOATS)).toEqual(expected);
    expect(Math.min(...raw.pixels.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...raw.pixels.data)).toBeLessThanOrEqual(1);
    // normalising afterwards gives the model input
    const normalized = normalizePixels(raw.pixels.data, undefined, R * R);
    const direct = await loader.load(files.slice(0, 2), { normalize: true });
    expect(normalized).toEqual(direct.pixels.data);
  });

  it('reports a file that fails to decode and leaves it out, without throwing', async () => {
    const loader = new ImageLoader({ resolution: R });
    const list = [
      files[0]!,
      truncated,
      files[1]!,
      { path: join(scratch, 'gone.png'), relativePath: 'gone.png' },
    ];
    const batch = await loader.load(list);
    expect(batch.pixels.shape).toEqual([2, 3, R, R]);
    expect(batch.indices).toEqual([0, 2]);
    expect(batch.items).toEqual([files[0], files[1]]);
    expect(batch.failed.map((f) => [f.index, f.code])).toEqual([
      [1, 'truncated'],
      [3, 'missing'],
    ]);
    expect(batch.failed[0]!.reason).toMatch(/truncated/);
    const second = await loader.load([truncated]);
    expect(second.failed[0]!.reason).toBe(batch.failed[0]!.reason);
  });

  it('iterates over a long list in batches with indices into the whole list', async () => {
    const loader = new ImageLoader({ resolution: R, cacheBytes: 0 });
    const list = [...files, truncated, ...files];
    const seen: number[] = [];
    let batches = 0;
    for await (const batch of loader.batches(list, 4)) {
      batches++;
      expect(batch.pixels.shape[0]).toBe(batch.items.length);
      seen.push(...batch.indices, ...batch.failed.map((f) => f.index));
    }
    expect(batches).toBe(Math.ceil(list.length / 4));
    expect(seen.sort((a, b) => a - b)).toEqual(list.map((_, i) => i));
    expect(loader.cacheStats().entries).toBe(0);
  });

  it('keeps the cache within its byte bound, evicting the least recently used image', async () => {
    const loader = new ImageLoader({ resolution: R, cacheBytes: Math.floor(2.5 * CACHED_BYTES) });
    await loader.load(files);
    let stats = loader.cacheStats();
    expect(stats.entries).toBe(2);
    expect(stats.bytes).toBeLessThanOrEqual(stats.capacityBytes);
    // the two most recent (files 4 and 5) are cached; touching 4 then adding 0 evicts 5
    await loader.load([files[4]!]);
    await loader.load([files[0]!]);
    const before = loader.cacheStats();
    await loader.load([files[4]!]);
    expect(loader.cacheStats().hits).toBe(before.hits + 1);
    await loader.load([files[5]!]);
    stats = loader.cacheStats();
    expect(stats.misses).toBe(before.misses + 1);
    expect(stats.bytes).toBeLessThanOrEqual(stats.capacityBytes);
  });

  it('refuses to build one batch larger than its limit and points to batches()', async () => {
    const loader = new ImageLoader({ resolution: R, maxBatchBytes: IMAGE_FLOATS * 4 * 2 });
    await expect(loader.load(files.slice(0, 3))).rejects.toMatchObject({ code: 'batch-too-large' });
    await expect(loader.load(files.slice(0, 2))).resolves.toMatchObject({ items: files.slice(0, 2) });
  });
});

describe('PixelCache', () => {
  it('never holds more bytes than its capacity and drops values larger than it', () => {
    const cache = new PixelCache(100);
    cache.set('a', new Uint8Array(40));
    cache.set('b', new Uint8Array(40));
    cache.get('a');
    cache.set('c', new Uint8Array(40));
    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
    expect(cache.stats().bytes).toBe(80);
    cache.set('huge', new Float32Array(100));
    expect(cache.has('huge')).toBe(false);
    cache.set('a', new Uint8Array(90));
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 90 });
  });
});
