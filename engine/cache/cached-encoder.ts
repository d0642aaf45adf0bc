import type { ClipEncoder } from '../clip/clip-encoder.js';
import type { EncodeOutputName } from '../clip/encode-program.js';
import type { EncodeRequest, EncodeResult } from '../clip/encode-request.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { FeatureCache, FeatureCacheCounts } from './feature-cache.js';
import { featureKeys, promptsHash } from './feature-key.js';

/** Outputs with one row per image that are worth keeping (attention maps are large and rarely asked twice). */
const CACHED_OUTPUTS: ReadonlySet<EncodeOutputName> = new Set(['image_embeds', 'vision_cls_per_layer']);

/** An encoder that answers image-only requests from a feature cache where it can. */
export interface CachingEncoder extends ClipEncoder {
  /** Rows served from the cache and rows computed, over all requests so far. */
  readonly counts: Readonly<FeatureCacheCounts>;
}

function rowShape(encoder: ClipEncoder, output: EncodeOutputName): number[] {
  const { config } = encoder.weights;
  return output === 'image_embeds' ? [config.embedDim] : [config.vision.layers + 1, config.vision.width];
}

/**
 * Wraps an encoder with a feature cache. Requests with pixels only (optionally deep visual prompts) and cacheable
 * outputs are looked up row by row; when every row is found nothing runs, otherwise the whole batch runs as
 * asked (the same session shape as without a cache) and its rows are stored. Text, text context and attention
 * requests pass straight through.
 */
export function cachingEncoder(encoder: ClipEncoder, cache: FeatureCache): CachingEncoder {
  const counts: FeatureCacheCounts = { hits: 0, misses: 0 };
  const fingerprint = encoder.weights.source.fingerprint;
  // Weights built in memory (fresh initialisations, tests) have no fingerprint: nothing safe to key on.
  const cacheable = (request: EncodeRequest): request is EncodeRequest & { pixels: HostTensor } =>
    fingerprint !== '' &&
    request.pixels !== undefined &&
    request.text === undefined &&
    request.context === undefined &&
    request.outputs.length > 0 &&
    request.outputs.every((o) => CACHED_OUTPUTS.has(o));

  async function encode(request: EncodeRequest): Promise<EncodeResult> {
    if (!cacheable(request)) return encoder.encode(request);
    const n = request.pixels.shape[0] as number;
    const prompts = promptsHash(request.prompts);
    const keysByOutput = request.outputs.map((output) =>
      featureKeys(
        {
          modelFingerprint: fingerprint,
          output,
          precision: encoder.precision ?? 'fp32',
          promptsHash: prompts,
        },
        request.pixels,
      ),
    );
    const found = await Promise.all(keysByOutput.map((keys) => cache.getMany(keys)));
    const result: EncodeResult = {};
    let complete = true;
    request.outputs.forEach((output, o) => {
      const shape = rowShape(encoder, output);
      const rowLength = shape.reduce((a, b) => a * b, 1);
      const rows = found[o]!;
      if (rows.some((r) => r === null || r.length !== rowLength)) {
        complete = false;
        return;
      }
      const data = new Float32Array(n * rowLength);
      rows.forEach((r, i) => data.set(r!, i * rowLength));
      result[output] = { data, shape: [n, ...shape] };
    });
    if (complete) {
      counts.hits += n;
      return result;
    }
    counts.misses += n;
    const computed = await encoder.encode(request);
    const entries: { key: string; data: Float32Array }[] = [];
    request.outputs.forEach((output, o) => {
      const t = computed[output];
      if (!t) return;
      const rowLength = t.data.length / n;
      keysByOutput[o]!.forEach((key, i) =>
        entries.push({ key, data: t.data.slice(i * rowLength, (i + 1) * rowLength) }),
      );
    });
    await cache.putMany(entries);
    return computed;
  }

  return {
    get executor() {
      return encoder.executor;
    },
    weights: encoder.weights,
    ...(encoder.precision ? { precision: encoder.precision } : {}),
    counts,
    encode,
    dispose: () => encoder.dispose(),
  };
}
