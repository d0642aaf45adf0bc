/**
 * A content-addressed store of per-image feature rows (image embeddings, per-block class tokens). The engine
 * sees only this interface; the project implements it (electron/store/feature-cache-db.ts) and the job layer
 * passes it in, so engine code never touches the store. Keys are hashes of everything a row depends on
 * (feature-key.ts), so an entry can never be stale: a changed input is a different key.
 */
export interface FeatureCache {
  /** The stored rows for the keys, in order; null where a key is absent. */
  getMany(keys: readonly string[]): Promise<(Float32Array | null)[]>;
  /** Stores rows; the implementation may evict least recently used entries to stay within its bound. */
  putMany(entries: readonly { readonly key: string; readonly data: Float32Array }[]): Promise<void>;
}

/** How a cache served one run: rows found and rows computed. */
export interface FeatureCacheCounts {
  hits: number;
  misses: number;
}
