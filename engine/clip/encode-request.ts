import type { HostTensor } from '../tensor/host-tensor.js';
import type { TextInput } from './clip-forward.js';
import type { EncodeOutputName } from './encode-program.js';

/** A forward-only request, in host memory: either executor answers it with the same numbers. */
export interface EncodeRequest {
  /** [N, 3, R, R], already normalised. */
  readonly pixels?: HostTensor;
  readonly text?: TextInput;
  /** Deep visual prompts [L-D, b, W] entering before block `depth`. */
  readonly prompts?: { readonly depth: number; readonly tensors: HostTensor };
  /** Text context [M, W] or [T, M, W]. */
  readonly context?: HostTensor;
  readonly outputs: readonly EncodeOutputName[];
}

export type EncodeResult = Partial<Record<EncodeOutputName, HostTensor>>;
