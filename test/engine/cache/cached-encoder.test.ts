import { describe, expect, it } from 'vitest';
import { cachingEncoder } from '../../../engine/cache/cached-encoder.js';
import type { FeatureCache } from '../../../engine/cache/feature-cache.js';
import { createEncoder } from '../../../engine/clip/clip-encoder.js';
import { initClipWeights } from '../../../engine/clip/init-weights.js';
import type { ClipWeights } from '../../../engine/clip/weights.js';
import { importDataset } from '../../../engine/datasets/import-dataset.js';
import { evaluateBackdoor } from '../../../engine/eval/backdoor-eval.js';
import type { HostTensor } from '../../../engine/tensor/host-tensor.js';
import { badnetTrigger } from '../../../engine/triggers/badnet.js';
import { resolveParams } from '../../../engine/methods/params.js';
import { Rng } from '../../../engine/util/rng.js';
import { TOY_CONFIG, writeToyDataset } from '../../helpers/toy-data.js';

/** The engine-side contract only: a Map, counting what was asked. */
function memoryCache(): FeatureCache & { map: Map<string, Float32Array>; puts: number } {
  const map = new Map<string, Float32Array>();
  const cache = {
    map,
    puts: 0,
    getMany: async (keys: readonly string[]) => keys.map((k) => map.get(k) ?? null),
    putMany: async (entries: readonly { key: string; data: Float32Array }[]) => {
      for (const e of entries) map.set(e.key, e.data);
      cache.puts += entries.length;
    },
  };
  return cache;
}

function toyWeights(seed: number, fingerprint: string): ClipWeights {
  const w = initClipWeights(TOY_CONFIG, new Rng(seed));
  return { ...w, source: { ...w.source, fingerprint } };
}

function pixels(n: number, seed: number): HostTensor {
  const rng = new Rng(seed);
  const data = new Float32Array(n * 3 * 16 * 16);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, shape: [n, 3, 16, 16] };
}

describe('feature cache in front of the encoder', () => {
  it('answers a repeated evaluation from the cache with the same numbers and no forward pass', async () => {
    const dataset = await importDataset(writeToyDataset(2, 6, 'vetbench-cache-'));
    const weights = toyWeights(5, 'model-a');
    const cache = memoryCache();
    const trigger = badnetTrigger.create({
      params: resolveParams('badnet', badnetTrigger.params, { patchSize: 64, location: 'corner' }),
      seed: 1,
      resolution: 16,
    });
    const first = cachingEncoder(await createEncoder(weights), cache);
    const a = await evaluateBackdoor(first, dataset, { trigger, target: 1, batchSize: 8 });
    // Clean and triggered images differ, so both passes miss once and are stored under different keys.
    expect(first.counts).toEqual({ hits: 0, misses: 48 });
    expect(cache.map.size).toBe(48);
    await first.dispose();

    const second = cachingEncoder(await createEncoder(weights), cache);
    const b = await evaluateBackdoor(second, dataset, { trigger, target: 1, batchSize: 8 });
    expect(second.counts).toEqual({ hits: 48, misses: 0 });
    expect(b.metrics).toEqual(a.metrics);
    expect(b.perClass).toEqual(a.perClass);
    await second.dispose();
  });

  it('keys on the model, the pixels and the prompts: any change is a miss', async () => {
    const cache = memoryCache();
    const x = pixels(3, 1);
    const a = cachingEncoder(await createEncoder(toyWeights(5, 'model-a')), cache);
    const plain = await a.encode({ pixels: x, outputs: ['image_embeds'] });
    await a.encode({ pixels: x, outputs: ['image_embeds'] });
    expect(a.counts).toEqual({ hits: 3, misses: 3 });

    const shifted = { data: Float32Array.from(x.data, (v, i) => (i === 5 ? v + 1e-3 : v)), shape: x.shape };
    await a.encode({ pixels: shifted, outputs: ['image_embeds'] });
    expect(a.counts.misses).toBe(6); // one changed pixel in the first image: the whole batch runs again

    const prompts = {
      depth: 0,
      tensors: { data: new Float32Array(1 * 2 * 64).fill(0.1), shape: [1, 2, 64] },
    };
    const prompted = await a.encode({ pixels: x, prompts, outputs: ['image_embeds'] });
    expect(a.counts.misses).toBe(9);
    expect(prompted.image_embeds!.data).not.toEqual(plain.image_embeds!.data);

    const other = cachingEncoder(await createEncoder(toyWeights(6, 'model-b')), cache);
    const b = await other.encode({ pixels: x, outputs: ['image_embeds'] });
    expect(other.counts).toEqual({ hits: 0, misses: 3 });
    expect(b.image_embeds!.data).not.toEqual(plain.image_embeds!.data);

    // Class tokens per block are cached too, with their shape.
    const cls1 = await a.encode({ pixels: x, outputs: ['vision_cls_per_layer'] });
    const cls2 = await a.encode({ pixels: x, outputs: ['vision_cls_per_layer'] });
    expect(cls2.vision_cls_per_layer!.shape).toEqual(cls1.vision_cls_per_layer!.shape);
    expect(cls2.vision_cls_per_layer!.data).toEqual(cls1.vision_cls_per_layer!.data);
    await a.dispose();
    await other.dispose();
  });

  it('passes text requests and unfingerprinted weights through untouched', async () => {
    const cache = memoryCache();
    const anonymous = cachingEncoder(await createEncoder(toyWeights(5, '')), cache);
    await anonymous.encode({ pixels: pixels(2, 3), outputs: ['image_embeds'] });
    await anonymous.encode({ text: { ids: new Int32Array(8).fill(1), rows: 1 }, outputs: ['text_embeds'] });
    expect(anonymous.counts).toEqual({ hits: 0, misses: 0 });
    expect(cache.puts).toBe(0);
    await anonymous.dispose();
  });
});
