import { createEncoder } from '../clip/clip-encoder.js';
import { classify } from '../clip/zero-shot.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { ExplainModel } from './explainer.js';
import { concatRows, normalizedCopy, sliceRows } from './vit-inputs.js';

/** Image embeddings [N, E] (before normalisation) and zero-shot predictions of [0, 1] images, batched. */
export async function embedImages(
  model: ExplainModel,
  pixels01: HostTensor,
  batchSize = 64,
): Promise<{ embeds: HostTensor; predictions: Int32Array }> {
  const encoder = await createEncoder(model.weights);
  const n = pixels01.shape[0] as number;
  const parts: HostTensor[] = [];
  try {
    for (let from = 0; from < n; from += batchSize) {
      const count = Math.min(batchSize, n - from);
      const out = await encoder.encode({
        pixels: normalizedCopy(sliceRows(pixels01, from, count)),
        ...(model.prompts ? { prompts: { depth: model.prompts.depth, tensors: model.prompts.tensors } } : {}),
        outputs: ['image_embeds'],
      });
      parts.push(out.image_embeds!);
    }
  } finally {
    await encoder.dispose();
  }
  const embeds = concatRows(parts);
  return { embeds, predictions: classify(model.head, embeds, model.weights.logitScale).predictions };
}
