import { cachingEncoder } from '../cache/cached-encoder.js';
import { createEncoder, type ClipEncoder } from '../clip/clip-encoder.js';
import type { DefenseContext } from './defense.js';

/**
 * The forward-only encoder of a defense: through the project's feature cache when the job passed one, so the
 * few-shot images' embeddings come from an earlier run of the same model when their pixels are unchanged.
 * On dispose it says in the run log what the cache served.
 */
export async function defenseEncoder(context: DefenseContext, methodId: string): Promise<ClipEncoder> {
  const encoder = await createEncoder(context.weights);
  if (!context.featureCache) return encoder;
  const cached = cachingEncoder(encoder, context.featureCache);
  return {
    get executor() {
      return cached.executor;
    },
    weights: cached.weights,
    encode: (request) => cached.encode(request),
    async dispose() {
      const { hits, misses } = cached.counts;
      if (hits + misses > 0)
        context.log?.(
          `${methodId}: feature cache served ${hits} image embedding(s), ${misses} encoded and stored`,
        );
      await cached.dispose();
    },
  };
}
