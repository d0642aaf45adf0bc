import type { ClipConfig } from '../clip/config.js';
import { gridSize } from '../clip/config.js';
import { VetbenchError } from '../errors.js';
import { normalizePixels } from '../image/preprocess.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { DeepPromptTensors } from './explainer.js';

/** Shared helpers of the explainers: normalised copies, batch slices, block indices, sequence lengths. */

export function normalizedCopy(pixels01: HostTensor): HostTensor {
  const r = pixels01.shape[2] as number;
  return {
    data: normalizePixels(pixels01.data, new Float32Array(pixels01.data.length), r * r),
    shape: pixels01.shape,
  };
}

/** Rows [from, from + count) of a tensor along its first axis. */
export function sliceRows(t: HostTensor, from: number, count: number): HostTensor {
  const row = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: t.data.slice(from * row, (from + count) * row), shape: [count, ...t.shape.slice(1)] };
}

/** Concatenates tensors along the first axis. */
export function concatRows(parts: readonly HostTensor[]): HostTensor {
  const rows = parts.reduce((a, p) => a + (p.shape[0] as number), 0);
  const data = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { data, shape: [rows, ...(parts[0]?.shape.slice(1) ?? [])] };
}

/** A block index that may count from the end (-1 = last block) as a 0-based index, or a clear error. */
export function resolveBlock(block: number, layers: number, method: string): number {
  const resolved = block < 0 ? layers + block : block;
  if (!Number.isInteger(resolved) || resolved < 0 || resolved >= layers) {
    throw new VetbenchError(
      'param-invalid',
      `${method}: block ${block} does not exist; this model has blocks 0..${layers - 1} (or -1..-${layers} from the end)`,
      'Pass e.g. --param block=-2 (the input of the last block).',
    );
  }
  return resolved;
}

/** Tokens in the sequence after block d: class + patches, plus prompts when block d was prompted. */
export function sequenceLength(config: ClipConfig, prompts: DeepPromptTensors | null, block: number): number {
  const base = 1 + gridSize(config.vision) ** 2;
  return prompts && block >= prompts.depth ? base + (prompts.tensors.shape[1] as number) : base;
}
