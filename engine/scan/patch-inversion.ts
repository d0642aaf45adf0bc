import type { HostTensor } from '../tensor/host-tensor.js';
import type { TrainingExecutor } from '../train/objective.js';
import type { InversionChunk } from './universal-inversion.js';

/** A square window of the image that an inverted patch replaces. */
export interface PatchPlacement {
  readonly size: number;
  readonly top: number;
  readonly left: number;
}

/** The centred square of side round(fraction * R) (at least 1 px) of an R x R image. */
export function centredPlacement(resolution: number, fraction: number): PatchPlacement {
  const size = Math.min(resolution, Math.max(1, Math.round(fraction * resolution)));
  const offset = Math.floor((resolution - size) / 2);
  return { size, top: offset, left: offset };
}

/** Every image [n,3,R,R] with the window replaced by `patch` [3,size,size] (values in [0,1]). */
export function applyPatch(pixels: HostTensor, patch: Float32Array, place: PatchPlacement): HostTensor {
  const n = pixels.shape[0] as number;
  const r = pixels.shape[2] as number;
  const out = Float32Array.from(pixels.data);
  const { size, top, left } = place;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < size; y++) {
        const row = ((i * 3 + c) * r + top + y) * r + left;
        out.set(patch.subarray((c * size + y) * size, (c * size + y + 1) * size), row);
      }
  return { data: out, shape: pixels.shape };
}

export interface PatchSettings {
  readonly steps: number;
  readonly place: PatchPlacement;
}

/**
 * One patch pasted into every image (BadNets / BadCLIP-style trigger), found with the same contrastive loss as
 * the additive inversion. The objective's variable is the per-image perturbation d_i = paste(v_i) - v_i, so the
 * patch's gradient is the sum over images of d_i's gradient inside the window (d d_i / d patch = 1 there).
 * Signed gradient steps of 2.5 * 0.5 / steps (Madry et al.'s rule for the [0,1] box seen as an l-inf ball of
 * radius 0.5 around grey, the start), clipped to [0,1]: the patch content is unbounded, only its area is fixed.
 */
export async function invertPatchTrigger(
  trainer: TrainingExecutor,
  chunks: readonly InversionChunk[],
  settings: PatchSettings,
): Promise<Float32Array> {
  const { size, top, left } = settings.place;
  const patch = new Float32Array(3 * size * size).fill(0.5);
  const stepSize = (2.5 * 0.5) / Math.max(1, settings.steps);
  for (let s = 0; s < settings.steps; s++) {
    const grad = new Float32Array(patch.length);
    for (const chunk of chunks) {
      const n = chunk.pixels.shape[0] as number;
      const r = chunk.pixels.shape[2] as number;
      const pasted = applyPatch(chunk.pixels, patch, settings.place);
      const delta = new Float32Array(pasted.data.length);
      for (let i = 0; i < delta.length; i++)
        delta[i] = (pasted.data[i] as number) - (chunk.pixels.data[i] as number);
      const result = await trainer.step(
        { delta: { data: delta, shape: chunk.pixels.shape } },
        { pixels: chunk.pixels, clean: chunk.clean, positive: chunk.positive },
      );
      const g = result.grads.delta!.data;
      for (let i = 0; i < n; i++)
        for (let c = 0; c < 3; c++)
          for (let y = 0; y < size; y++)
            for (let x = 0; x < size; x++) {
              const p = (c * size + y) * size + x;
              grad[p] = (grad[p] as number) + (g[((i * 3 + c) * r + top + y) * r + left + x] as number);
            }
    }
    for (let p = 0; p < patch.length; p++) {
      const g = grad[p] as number;
      patch[p] = Math.min(1, Math.max(0, (patch[p] as number) - stepSize * Math.sign(g)));
    }
  }
  return patch;
}
