import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { FeatureCache } from '../../engine/cache/feature-cache.js';
import { VetbenchError } from '../../engine/errors.js';

/** Default bound of a project's feature cache: ~1.3 M ViT-B/32 image embeddings, ~200 k class-token stacks. */
export const DEFAULT_FEATURE_CACHE_BYTES = 2 * 1024 ** 3;
/** Environment variable that overrides the bound (bytes). */
export const FEATURE_CACHE_BYTES_ENV = 'VETBENCH_FEATURE_CACHE_BYTES';

/** The cache folder of a project: beside the .vbproj, like its .artifacts folder. */
export function featureCacheFolder(projectPath: string): string {
  return `${projectPath.replace(/\.vbproj$/, '')}.cache`;
}

export function featureCacheFile(projectPath: string): string {
  return join(featureCacheFolder(projectPath), 'features.sqlite');
}

export function featureCacheBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[FEATURE_CACHE_BYTES_ENV];
  if (raw === undefined || raw === '') return DEFAULT_FEATURE_CACHE_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new VetbenchError(
      'bad-option',
      `${FEATURE_CACHE_BYTES_ENV}=${raw} is not a byte count`,
      `Set ${FEATURE_CACHE_BYTES_ENV} to a whole number of bytes (0 keeps nothing), or unset it.`,
    );
  return n;
}

export interface FeatureCacheStats {
  readonly file: string;
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
}

/**
 * The project's feature cache in its own SQLite file (not the project database: a cache can be deleted at any
 * time and its write traffic should not contend with run records). Entries are evicted least recently used
 * first once the rows exceed `maxBytes`. Keys come from engine/cache/feature-key.ts; a row's length is checked
 * by the reader, so a damaged entry is a miss, never a wrong feature.
 */
export class FeatureCacheDb implements FeatureCache {
  private readonly get: Database.Statement<[string], { data: Buffer }>;
  private readonly touch: Database.Statement<[number, string]>;
  private readonly put: Database.Statement<[string, Buffer, number, number]>;
  private clock = Date.now();

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
    readonly maxBytes: number,
  ) {
    this.get = db.prepare('SELECT data FROM features WHERE key = ?');
    this.touch = db.prepare('UPDATE features SET last_used = ? WHERE key = ?');
    this.put = db.prepare(
      'INSERT OR REPLACE INTO features (key, data, bytes, last_used) VALUES (?, ?, ?, ?)',
    );
  }

  static open(file: string, maxBytes = featureCacheBytesFromEnv()): FeatureCacheDb {
    mkdirSync(dirname(file), { recursive: true });
    let db: Database.Database | null = null;
    try {
      db = new Database(file);
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      // A cache survives losing its last writes: nothing depends on an entry being there.
      db.pragma('synchronous = OFF');
      db.exec(
        `CREATE TABLE IF NOT EXISTS features (
           key TEXT PRIMARY KEY, data BLOB NOT NULL, bytes INTEGER NOT NULL, last_used INTEGER NOT NULL);
         CREATE INDEX IF NOT EXISTS features_last_used ON features (last_used);`,
      );
      return new FeatureCacheDb(file, db, maxBytes);
    } catch (e) {
      db?.close();
      throw new VetbenchError(
        'cache-unreadable',
        `the feature cache ${file} cannot be opened (${e instanceof Error ? e.message : String(e)})`,
        'Delete it (vetbench cache --clear): it only holds features that are recomputed on demand.',
      );
    }
  }

  /** A strictly increasing use stamp, so entries touched in one batch keep their order. */
  private tick(): number {
    this.clock = Math.max(this.clock + 1, Date.now());
    return this.clock;
  }

  async getMany(keys: readonly string[]): Promise<(Float32Array | null)[]> {
    const rows = keys.map((k) => this.get.get(k));
    this.db.transaction(() => {
      keys.forEach((k, i) => {
        if (rows[i]) this.touch.run(this.tick(), k);
      });
    })();
    return rows.map((r) => {
      if (!r || r.data.byteLength % 4 !== 0) return null;
      // Copy into an aligned buffer: a Buffer may sit at any offset of a shared pool.
      const out = new Float32Array(r.data.byteLength / 4);
      new Uint8Array(out.buffer).set(r.data);
      return out;
    });
  }

  async putMany(entries: readonly { readonly key: string; readonly data: Float32Array }[]): Promise<void> {
    this.db.transaction(() => {
      for (const e of entries) {
        const bytes = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
        this.put.run(e.key, bytes, bytes.byteLength, this.tick());
      }
      this.evict();
    })();
  }

  /** Drops least recently used entries until the rows fit the bound. */
  private evict(): void {
    let excess = this.totalBytes() - this.maxBytes;
    if (excess <= 0) return;
    const oldest = this.db
      .prepare('SELECT key, bytes FROM features ORDER BY last_used ASC')
      .iterate() as IterableIterator<{ key: string; bytes: number }>;
    const drop = this.db.prepare('DELETE FROM features WHERE key = ?');
    const doomed: string[] = [];
    for (const row of oldest) {
      if (excess <= 0) break;
      doomed.push(row.key);
      excess -= row.bytes;
    }
    for (const key of doomed) drop.run(key);
  }

  private totalBytes(): number {
    return (this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS b FROM features').get() as { b: number }).b;
  }

  stats(): FeatureCacheStats {
    const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM features').get() as { n: number };
    return { file: this.file, entries: n, bytes: this.totalBytes(), maxBytes: this.maxBytes };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Deletes a project's feature cache (the folder holds nothing else). */
export function clearFeatureCache(projectPath: string): void {
  rmSync(featureCacheFolder(projectPath), { recursive: true, force: true });
}
