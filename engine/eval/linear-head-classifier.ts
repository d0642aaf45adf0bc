import type { ClipEncoder } from '../clip/clip-encoder.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { ImageClassifier } from './image-classifier.js';

/** Rows of [N, E] scaled to unit length (a zero row stays zero). */
export function normalizeRows(x: HostTensor): HostTensor {
  const [n, e] = x.shape as [number, number];
  const out = Float32Array.from(x.data);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < e; j++) s += (out[i * e + j] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < e; j++) out[i * e + j] = (out[i * e + j] as number) * inv;
  }
  return { data: out, shape: [n, e] };
}

/** logits [N, C] = features [N, E] @ weight[C, E]^T + bias [C]. */
export function applyLinearHead(features: HostTensor, weight: HostTensor, bias: HostTensor): HostTensor {
  const [n, e] = features.shape as [number, number];
  const [c, we] = weight.shape as [number, number];
  if (we !== e) throw new Error(`linear head reads ${we}-d features, got ${e}-d`);
  const out = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      let dot = bias.data[k] as number;
      for (let j = 0; j < e; j++)
        dot += (features.data[i * e + j] as number) * (weight.data[k * e + j] as number);
      out[i * c + k] = dot;
    }
  }
  return { data: out, shape: [n, c] };
}

/**
 * A CLIP image tower with a linear head on its L2-normalised image embedding (the linear-probe defense).
 * It uses no text, so TrojVQA's text key has nothing to act on and is ignored.
 */
export function linearHeadClassifier(
  encoder: ClipEncoder,
  classNames: readonly string[],
  head: { readonly weight: HostTensor; readonly bias: HostTensor },
  description = 'linear head on the image embedding',
): ImageClassifier {
  if (head.weight.shape[0] !== classNames.length) {
    throw new Error(`linear head has ${head.weight.shape[0]} rows for ${classNames.length} classes`);
  }
  return {
    classNames,
    description,
    async logits(pixels) {
      const out = await encoder.encode({ pixels, outputs: ['image_embeds'] });
      return applyLinearHead(normalizeRows(out.image_embeds!), head.weight, head.bias);
    },
  };
}
