/** Cached pre-processed pixels: bytes `k` meaning k/255 when exact, float32 otherwise. */
export type CachedPixels = Uint8Array | Float32Array;

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly capacityBytes: number;
  readonly hits: number;
  readonly misses: number;
}

/**
 * A least-recently-used cache bounded by the bytes its values hold (not by entry count, since one 336-pixel
 * image weighs as much as two 224-pixel ones). A value larger than the whole capacity is simply not kept.
 */
export class PixelCache {
  private readonly entries = new Map<string, CachedPixels>();
  private heldBytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(readonly capacityBytes: number) {
    if (!(Number.isFinite(capacityBytes) && capacityBytes >= 0)) {
      throw new RangeError(
        `PixelCache: capacity must be a non-negative number of bytes, got ${capacityBytes}`,
      );
    }
  }

  get(key: string): CachedPixels | undefined {
    const value = this.entries.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // a Map iterates in insertion order: re-inserting makes this the most recently used
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: CachedPixels): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.heldBytes -= old.byteLength;
    }
    if (value.byteLength > this.capacityBytes) return;
    while (this.heldBytes + value.byteLength > this.capacityBytes) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, CachedPixels];
      this.entries.delete(oldestKey);
      this.heldBytes -= oldest.byteLength;
    }
    this.entries.set(key, value);
    this.heldBytes += value.byteLength;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  clear(): void {
    this.entries.clear();
    this.heldBytes = 0;
  }

  stats(): CacheStats {
    return {
      entries: this.entries.size,
      bytes: this.heldBytes,
      capacityBytes: this.capacityBytes,
      hits: this.hits,
      misses: this.misses,
    };
  }
}
