import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  clearFeatureCache,
  FeatureCacheDb,
  featureCacheBytesFromEnv,
  featureCacheFile,
} from '../../electron/store/feature-cache-db.js';

const row = (value: number, length = 16): Float32Array => new Float32Array(length).fill(value);

describe('the project feature cache (SQLite beside the .vbproj)', () => {
  it('stores rows by key and reads them back bit for bit; unknown keys are null', async () => {
    const project = join(mkdtempSync(join(tmpdir(), 'vetbench-fcache-')), 'p.vbproj');
    const cache = FeatureCacheDb.open(featureCacheFile(project));
    await cache.putMany([
      { key: 'a', data: Float32Array.of(1.5, -2, Math.PI) },
      { key: 'b', data: row(7) },
    ]);
    const [a, missing, b] = await cache.getMany(['a', 'nope', 'b']);
    expect(Array.from(a!)).toEqual(Array.from(Float32Array.of(1.5, -2, Math.PI)));
    expect(missing).toBeNull();
    expect(b).toEqual(row(7));
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 12 + 64 });
    cache.close();
    // Persisted: a second process (here: a second connection) sees the rows.
    const again = FeatureCacheDb.open(featureCacheFile(project));
    expect((await again.getMany(['a']))[0]).not.toBeNull();
    again.close();
    clearFeatureCache(project);
    const cleared = FeatureCacheDb.open(featureCacheFile(project));
    expect(cleared.stats().entries).toBe(0);
    cleared.close();
  });

  it('evicts the least recently used rows once over its bound', async () => {
    const project = join(mkdtempSync(join(tmpdir(), 'vetbench-fcache-')), 'p.vbproj');
    const cache = FeatureCacheDb.open(featureCacheFile(project), 3 * 64);
    await cache.putMany([
      { key: 'a', data: row(1) },
      { key: 'b', data: row(2) },
      { key: 'c', data: row(3) },
    ]);
    await cache.getMany(['a']); // a is now more recent than b
    await cache.putMany([{ key: 'd', data: row(4) }]);
    const [a, b, c, d] = await cache.getMany(['a', 'b', 'c', 'd']);
    expect(b).toBeNull();
    expect([a, c, d].every((r) => r !== null)).toBe(true);
    expect(cache.stats().bytes).toBeLessThanOrEqual(3 * 64);
    cache.close();
  });

  it('names a broken cache file and how to fix it; a bad bound in the environment is a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vetbench-fcache-'));
    const file = join(dir, 'features.sqlite');
    writeFileSync(file, 'not a database, just text that is long enough to have a header'.repeat(20));
    expect(() => FeatureCacheDb.open(file)).toThrow(/features\.sqlite cannot be opened/);
    expect(() => featureCacheBytesFromEnv({ VETBENCH_FEATURE_CACHE_BYTES: 'lots' })).toThrow(
      /not a byte count/,
    );
    expect(featureCacheBytesFromEnv({})).toBe(2 * 1024 ** 3);
  });
});
