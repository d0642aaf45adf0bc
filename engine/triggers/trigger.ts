import type { HostTensor } from '../tensor/host-tensor.js';
import type { ParamSpecs, ParamValues } from '../methods/params.js';

/**
 * Triggers (METHODS 2.1) work in pixel space: [N, 3, R, R] batches of [0,1] pixels at the model resolution,
 * after resize/crop and before normalisation. A trigger is created once per run from its parameters and a
 * seed, saved with the run, and re-applied identically at test time. Per-image randomness (BadNet's patch
 * place and noise) is drawn from a stream keyed by the seed and the image's key (its relative path), so the
 * same image always gets the same trigger.
 */
export interface TriggerImage {
  /** Stable identity of the image, e.g. its path relative to the dataset root. */
  readonly key: string;
}

export interface Trigger {
  readonly method: string;
  readonly params: ParamValues;
  readonly seed: number;
  readonly resolution: number;
  /** A text key prefixed to prompts (TrojVQA's dual key); empty for image-only triggers. */
  readonly textKey: string;
  /** Applies the trigger in place to `pixels01` ([N,3,R,R] in [0,1]); `images[n]` identifies row n. */
  apply(pixels01: Float32Array, images: readonly TriggerImage[]): void | Promise<void>;
  /** Arrays that define it (patch, noise image, warp grid), saved with the run. */
  tensors(): Readonly<Record<string, HostTensor>>;
}

/** What a trigger family declares about itself (the registry, the CLI and the forms read this). */
export interface TriggerFamily {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly paper: string;
  readonly params: ParamSpecs;
  /** True when creating it needs a model (optimised patches). */
  readonly needsModel: boolean;
  /** Builds a trigger from resolved params; `restore` holds saved tensors when re-loading a saved trigger. */
  create(args: {
    params: ParamValues;
    seed: number;
    resolution: number;
    restore?: Readonly<Record<string, HostTensor>>;
  }): Trigger;
}
