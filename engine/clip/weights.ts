import type { HostTensor } from '../tensor/host-tensor.js';
import type { WeightFileFormat } from './checkpoints/read-weights-file.js';
import type { ClipConfig } from './config.js';

/** How the tensors were named in the file the model came from. */
export type WeightNaming = 'openai' | 'huggingface';
export type WeightDtype = 'F32' | 'F16' | 'BF16';

/**
 * A loaded CLIP: tensors in canonical OpenAI/open_clip names and layouts (float32), whatever the file used.
 * Hugging Face q/k/v are concatenated into `in_proj_weight`, transposed projections are transposed back.
 */
export interface ClipWeights {
  readonly config: ClipConfig;
  readonly tensors: ReadonlyMap<string, HostTensor>;
  /** The stored log of the logit scale; logits use exp(logitScale). */
  readonly logitScale: number;
  readonly source: WeightSource;
}

export interface WeightSource {
  readonly path: string;
  /** SHA-256 of the file, hex. */
  readonly fingerprint: string;
  readonly naming: WeightNaming;
  /** The container the weights came in (safetensors, torch zip/legacy, TorchScript); absent for built-in ones. */
  readonly format?: WeightFileFormat;
  readonly dtypes: readonly WeightDtype[];
  readonly fileBytes: number;
  /** Tensors that held NaN or Inf values (loaded anyway, with a warning). */
  readonly nonFiniteTensors: readonly string[];
  readonly warnings: readonly string[];
}

export function getTensor(weights: ClipWeights, name: string): HostTensor {
  const t = weights.tensors.get(name);
  if (!t) throw new Error(`CLIP weights have no tensor '${name}'`);
  return t;
}

export function parameterCount(weights: ClipWeights): number {
  let n = 0;
  for (const t of weights.tensors.values()) n += t.data.length;
  return n;
}
