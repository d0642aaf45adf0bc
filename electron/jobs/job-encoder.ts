import { cachingEncoder } from '../../engine/cache/cached-encoder.js';
import { createEncoder, type ClipEncoder } from '../../engine/clip/clip-encoder.js';
import type { ForwardPrecision } from '../../engine/clip/onnx-clip.js';
import type { ClipWeights } from '../../engine/clip/weights.js';
import type { JobContext } from './job-kind.js';

/**
 * The forward-only encoder of a job: through the project's feature cache when it has one, so images a model
 * has seen before (same pixels, same prompts) are not encoded again. On dispose it logs what the cache served.
 */
export async function jobEncoder(
  context: JobContext,
  weights: ClipWeights,
  backend?: string,
  label = 'model',
  precision: ForwardPrecision = 'fp32',
): Promise<ClipEncoder> {
  const encoder = await createEncoder(weights, backend, precision);
  const cache = context.featureCache?.() ?? null;
  if (!cache) return encoder;
  const cached = cachingEncoder(encoder, cache);
  return {
    get executor() {
      return cached.executor;
    },
    weights,
    precision,
    encode: (request) => cached.encode(request),
    async dispose() {
      const { hits, misses } = cached.counts;
      if (hits + misses > 0)
        context.log(
          `feature cache (${label}): ${hits} image(s) served from the cache, ${misses} encoded and stored`,
        );
      await cached.dispose();
    },
  };
}
