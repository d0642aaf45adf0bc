import { describe, expect, it } from 'vitest';
import type { FeatureCache } from '../../../engine/cache/feature-cache.js';
import { loadClipWeights } from '../../../engine/clip/load-weights.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { linearProbeDefense } from '../../../engine/defenses/baselines/linear-probe.js';
import { cbptDefense } from '../../../engine/defenses/cbpt/cbpt.js';
import { resolveParams } from '../../../engine/methods/params.js';
import { FIXTURE_DIR } from '../../helpers/compare.js';
import { writeToyDataset } from '../../helpers/toy-data.js';

function memoryCache(): FeatureCache {
  const map = new Map<string, Float32Array>();
  return {
    getMany: async (keys) => keys.map((k) => map.get(k) ?? null),
    putMany: async (entries) => {
      for (const e of entries) map.set(e.key, e.data);
    },
  };
}

// CBPT and the linear probe on the tiny fixture CLIP: their caches change where numbers come from, never the numbers.
describe('defense caches', () => {
  it('CBPT: same epochs with the decoded images kept or reloaded, and clean embeddings from the feature cache', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(4, 1, 'vetbench-cbpt-cache-'));
    const featureCache = memoryCache();
    const run = async (cacheImages: boolean, log: string[]) =>
      cbptDefense.run(
        { weights, dataset, shots: 4, seed: 2, featureCache, log: (l) => log.push(l) },
        resolveParams('cbpt', cbptDefense.params, {
          epochs: 2,
          warmupEpochs: 1,
          batchSize: 8,
          inversionSteps: 2,
          lr: 0.1,
          cacheImages,
        }),
      );
    const first: string[] = [];
    const second: string[] = [];
    const kept = await run(true, first);
    const reloaded = await run(false, second);
    expect(first.join('\n')).toMatch(/in-run cache: the 16 training images are decoded once/);
    expect(second.join('\n')).toMatch(/in-run image cache off \(cacheImages=false\)/);
    // The first run stored the 16 clean embeddings and its 2 x 16 perturbed ones; the second run inverts the
    // same triggers (same seed), so its perturbed pixels are the same and every row comes from the cache.
    expect(first.join('\n')).toMatch(/feature cache served 0 image embedding\(s\), 48 encoded/);
    expect(second.join('\n')).toMatch(/feature cache served 48 image embedding\(s\), 0 encoded/);
    expect(reloaded.epochMetrics).toEqual(kept.epochMetrics);
  }, 120_000);

  it('linear probe: the second run reads its few-shot embeddings from the feature cache, same head', async () => {
    const weights = await loadClipWeights(`${FIXTURE_DIR}model.safetensors`);
    const dataset = await importDataset(writeToyDataset(4, 1, 'vetbench-lp-cache-'));
    const featureCache = memoryCache();
    const logs: string[][] = [[], []];
    const params = resolveParams('linear-probe', linearProbeDefense.params, { epochs: 3 });
    const first = await linearProbeDefense.run(
      { weights, dataset, shots: 4, seed: 1, featureCache, log: (l) => logs[0]!.push(l) },
      params,
    );
    const second = await linearProbeDefense.run(
      { weights, dataset, shots: 4, seed: 1, featureCache, log: (l) => logs[1]!.push(l) },
      params,
    );
    expect(logs[0]!.join('\n')).toMatch(/served 0 image embedding\(s\), 16 encoded/);
    expect(logs[1]!.join('\n')).toMatch(/served 16 image embedding\(s\), 0 encoded/);
    if (first.output.kind !== 'linear-head' || second.output.kind !== 'linear-head')
      throw new Error('head expected');
    expect(Array.from(second.output.weight.data)).toEqual(Array.from(first.output.weight.data));
  }, 60_000);
});
