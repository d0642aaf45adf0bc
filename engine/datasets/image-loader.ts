import { VetbenchError } from '../errors.js';
import { decodeImage } from '../image/decode.js';
import { normalizePixels, toModelPixels } from '../image/preprocess.js';
import { hostTensor, type HostTensor } from '../tensor/host-tensor.js';
import { explainDecodeFailure } from './check-file.js';
import { mapWithConcurrency } from './concurrency.js';
import type { SkipCode } from './dataset.js';
import { PixelCache, type CachedPixels, type CacheStats } from './pixel-cache.js';

/** Anything with a file path: a DatasetItem, or a bare `{ path }`. */
export interface LoadableImage {
  readonly path: string;
  /** Used in failure messages when present. */
  readonly relativePath?: string;
}

export interface ImageLoaderOptions {
  /** The model's input resolution R: images come out as `[N, 3, R, R]`. */
  readonly resolution: number;
  /** Bound of the pre-processed pixel cache in bytes (default 256 MiB; 0 disables it). */
  readonly cacheBytes?: number;
  /**
   * Normalise with CLIP's mean/std (default true). False returns [0, 1] pixels, the space where triggers are
   * applied before normalisation (METHODS 1.3); `normalizePixels` finishes them.
   */
  readonly normalize?: boolean;
  /** Images decoded at once (default 4). */
  readonly concurrency?: number;
  /** The largest batch `load` builds (default 1 GiB): beyond that, iterate with `batches`. */
  readonly maxBatchBytes?: number;
}

export interface FailedImage<T> {
  readonly item: T;
  /** Position in the list passed to `load` (or to `batches`). */
  readonly index: number;
  readonly code: SkipCode;
  readonly reason: string;
}

export interface ImageBatch<T> {
  /** `[N, 3, R, R]`, N = the images that decoded; row i is `items[i]`. */
  readonly pixels: HostTensor;
  readonly items: readonly T[];
  /** Position of each row's item in the list given, so labels can be gathered alongside. */
  readonly indices: readonly number[];
  /** Items that failed to decode, with the reason; they are left out of `pixels`, never fatal. */
  readonly failed: readonly FailedImage<T>[];
  readonly normalized: boolean;
}

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024 * 1024;

/** ToTensor's byte -> [0, 1] values, the same float32 table as engine/image/preprocess.ts. */
const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

type PixelsOrFailure = CachedPixels | { readonly code: SkipCode; readonly reason: string };

/**
 * Lazy, cached batch loading: items are decoded and pre-processed (engine/image/preprocess.ts, Pillow-exact)
 * only when a batch asks for them, so a 50k-image folder is never decoded at once. The cache keeps [0, 1]
 * pixels, least recently used first out, within a byte budget; normalised and [0, 1] batches share it.
 */
export class ImageLoader {
  readonly resolution: number;
  private readonly normalizeByDefault: boolean;
  private readonly concurrency: number;
  private readonly maxBatchBytes: number;
  private readonly cache: PixelCache;
  /** Files already known not to decode: asking again returns the same reason without another decode. */
  private readonly failures = new Map<string, { code: SkipCode; reason: string }>();

  constructor(options: ImageLoaderOptions) {
    if (!Number.isInteger(options.resolution) || options.resolution < 1) {
      throw new VetbenchError(
        'bad-resolution',
        `image resolution must be a positive integer, got ${options.resolution}`,
        "use the model's input resolution (e.g. 224)",
      );
    }
    this.resolution = options.resolution;
    this.normalizeByDefault = options.normalize ?? true;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.cache = new PixelCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES);
  }

  /** Load the given items as one batch, in order; items that fail to decode are reported in `failed`. */
  async load<T extends LoadableImage>(
    items: readonly T[],
    options: { readonly normalize?: boolean } = {},
  ): Promise<ImageBatch<T>> {
    return this.loadFrom(items, 0, options.normalize ?? this.normalizeByDefault);
  }

  /**
   * Batches of `batchSize` in order, the next one decoding while the caller works on the current one.
   * `indices` and `failed[].index` count from the start of `items`.
   */
  async *batches<T extends LoadableImage>(
    items: readonly T[],
    batchSize: number,
    options: { readonly normalize?: boolean } = {},
  ): AsyncGenerator<ImageBatch<T>> {
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new VetbenchError(
        'bad-batch-size',
        `batch size must be a positive integer, got ${batchSize}`,
        'pass e.g. 64',
      );
    }
    const normalize = options.normalize ?? this.normalizeByDefault;
    let pending: Promise<ImageBatch<T>> | null =
      items.length > 0 ? this.loadFrom(items.slice(0, batchSize), 0, normalize) : null;
    try {
      for (let start = 0; pending !== null; start += batchSize) {
        const batch: ImageBatch<T> = await pending;
        const next = start + batchSize;
        pending =
          next < items.length ? this.loadFrom(items.slice(next, next + batchSize), next, normalize) : null;
        yield batch;
      }
    } finally {
      // the caller may stop early: a prefetch nobody awaits must not surface as an unhandled rejection
      pending?.catch(() => undefined);
    }
  }

  cacheStats(): CacheStats {
    return this.cache.stats();
  }

  clearCache(): void {
    this.cache.clear();
    this.failures.clear();
  }

  private async loadFrom<T extends LoadableImage>(
    items: readonly T[],
    offset: number,
    normalize: boolean,
  ): Promise<ImageBatch<T>> {
    const imageSize = 3 * this.resolution * this.resolution;
    if (items.length * imageSize * 4 > this.maxBatchBytes) {
      throw new VetbenchError(
        'batch-too-large',
        `${items.length} images at ${this.resolution}px need ${Math.ceil((items.length * imageSize * 4) / 2 ** 20)} MiB in one batch`,
        'iterate with loader.batches(items, batchSize) instead of loading everything at once',
      );
    }
    const results = await mapWithConcurrency(items, this.concurrency, (item) => this.pixelsOf(item));
    const loaded: T[] = [];
    const indices: number[] = [];
    const failed: FailedImage<T>[] = [];
    const okPixels: CachedPixels[] = [];
    results.forEach((result, i) => {
      const item = items[i]!;
      if (result instanceof Uint8Array || result instanceof Float32Array) {
        loaded.push(item);
        indices.push(offset + i);
        okPixels.push(result);
      } else {
        failed.push({ item, index: offset + i, code: result.code, reason: result.reason });
      }
    });
    const data = new Float32Array(okPixels.length * imageSize);
    okPixels.forEach((pixels, n) => {
      const base = n * imageSize;
      if (pixels instanceof Float32Array) data.set(pixels, base);
      else for (let i = 0; i < imageSize; i++) data[base + i] = UNIT[pixels[i]!]!;
    });
    if (normalize && okPixels.length > 0) normalizePixels(data, data, this.resolution * this.resolution);
    return {
      pixels: hostTensor(data, [okPixels.length, 3, this.resolution, this.resolution]),
      items: loaded,
      indices,
      failed,
      normalized: normalize,
    };
  }

  private async pixelsOf(item: LoadableImage): Promise<PixelsOrFailure> {
    const key = `${this.resolution}:${item.path}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const knownFailure = this.failures.get(key);
    if (knownFailure !== undefined) return knownFailure;
    const name = item.relativePath ?? item.path;
    try {
      const pixels = compactPixels(toModelPixels(await decodeImage(item.path, name), this.resolution));
      this.cache.set(key, pixels);
      return pixels;
    } catch (err) {
      const { code, reason } = await explainDecodeFailure(item.path, err, name);
      const failure = { code, reason };
      this.failures.set(key, failure);
      return failure;
    }
  }
}

/**
 * [0, 1] pixels are exact k/255 values, so one byte each holds them losslessly: four times the images per cache
 * byte. Should pre-processing ever produce other values, the float32 array is kept as is.
 */
function compactPixels(pixels: Float32Array): CachedPixels {
  const bytes = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const k = Math.round(pixels[i]! * 255);
    if (UNIT[k] !== pixels[i]) return pixels;
    bytes[i] = k;
  }
  return bytes;
}
