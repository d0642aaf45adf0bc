import { createHash } from 'node:crypto';
import type { HostTensor } from '../tensor/host-tensor.js';

/** Bump when the meaning of a cached row changes (a new forward, another layout): old keys then never match. */
export const FEATURE_KEY_VERSION = 1;

/** What a cached row depends on besides the image: the model, the output and the prompts that shaped it. */
export interface FeatureKeyContext {
  /** The model's weight fingerprint (weights.source.fingerprint). */
  readonly modelFingerprint: string;
  readonly output: string;
  /** Forward precision (fp32, int8): a reduced-precision row never answers for a full-precision one. */
  readonly precision: string;
  /** SHA-256 of the deep visual prompts (depth and tensors), or null without prompts. */
  readonly promptsHash: string | null;
}

/** SHA-256 of deep visual prompts: the prompt file's content as far as the image tower is concerned. */
export function promptsHash(
  prompts: { readonly depth: number; readonly tensors: HostTensor } | undefined,
): string | null {
  if (!prompts) return null;
  const h = createHash('sha256');
  h.update(JSON.stringify({ depth: prompts.depth, shape: prompts.tensors.shape }));
  h.update(bytesOf(prompts.tensors.data));
  return h.digest('hex');
}

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Key of one image's row. The image enters as the exact normalised pixels the model sees, so the key covers
 * the image content, the preprocessing (resolution, resize, normalisation) and any trigger applied before it:
 * change any of them and the key changes.
 */
export function featureKeys(context: FeatureKeyContext, pixels: HostTensor): string[] {
  const [n] = pixels.shape as [number];
  const rowLength = pixels.data.length / n;
  const header = JSON.stringify({
    v: FEATURE_KEY_VERSION,
    model: context.modelFingerprint,
    output: context.output,
    precision: context.precision,
    prompts: context.promptsHash,
    pixelShape: pixels.shape.slice(1),
  });
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const h = createHash('sha256');
    h.update(header);
    h.update(bytesOf(pixels.data.subarray(i * rowLength, (i + 1) * rowLength)));
    keys.push(h.digest('hex'));
  }
  return keys;
}
