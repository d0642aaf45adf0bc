import { l2Radius, type RadiusMode } from '../inversion/projection.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { TrainingExecutor } from '../train/objective.js';

/** One chunk of the images a universal trigger is inverted on (the inversion objective's batch). */
export interface InversionChunk {
  /** [n,3,R,R] in [0,1] */
  readonly pixels: HostTensor;
  /** E_I(v) [n,E] (the negatives) */
  readonly clean: HostTensor;
  /** What each perturbed image is pulled toward [n,E] */
  readonly positive: HostTensor;
}

export interface UniversalSettings {
  readonly steps: number;
  readonly rho: number;
  readonly radiusMode: RadiusMode;
}

/** v + delta clipped to [0,1], as the per-image perturbation the model actually sees. */
export function applyClipped(pixels: HostTensor, delta: Float32Array): HostTensor {
  const per = delta.length;
  const out = new Float32Array(pixels.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = pixels.data[i] as number;
    out[i] = Math.min(1, Math.max(0, v + (delta[i % per] as number)));
  }
  return { data: out, shape: pixels.shape };
}

/**
 * One perturbation shared by every image (Neural Cleanse's "universal" trigger), found with CBPT's contrastive
 * loss summed over all images, by l2 projected gradient descent: normalised gradient steps of 2.5 * radius /
 * steps (Madry et al.'s rule, so the budget is reachable whatever the gradient scale), projected onto the ball.
 * Pixels pushed outside [0,1] are clipped per image; the clip passes the gradient straight through.
 * `start` continues from an earlier trigger (a smaller budget's, when budgets are swept upward).
 */
export async function invertUniversalTrigger(
  trainer: TrainingExecutor,
  chunks: readonly InversionChunk[],
  settings: UniversalSettings,
  start?: Float32Array,
): Promise<Float32Array> {
  const first = chunks[0]!.pixels;
  const per = first.data.length / (first.shape[0] as number);
  const radius = l2Radius(settings.rho, per, settings.radiusMode);
  const stepSize = (2.5 * radius) / Math.max(1, settings.steps);
  const delta = start ? Float32Array.from(start) : new Float32Array(per);
  for (let s = 0; s < settings.steps; s++) {
    const grad = new Float32Array(per);
    for (const chunk of chunks) {
      const n = chunk.pixels.shape[0] as number;
      const perturbed = applyClipped(chunk.pixels, delta);
      const rows = new Float32Array(perturbed.data.length);
      for (let i = 0; i < rows.length; i++)
        rows[i] = (perturbed.data[i] as number) - (chunk.pixels.data[i] as number);
      const r = await trainer.step(
        { delta: { data: rows, shape: chunk.pixels.shape } },
        { pixels: chunk.pixels, clean: chunk.clean, positive: chunk.positive },
      );
      const g = r.grads.delta!.data;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < per; j++) grad[j] = (grad[j] as number) + (g[i * per + j] as number);
    }
    let norm = 0;
    for (const v of grad) norm += v * v;
    norm = Math.sqrt(norm);
    if (norm === 0) break;
    for (let j = 0; j < per; j++) delta[j] = (delta[j] as number) - (stepSize * (grad[j] as number)) / norm;
    let dn = 0;
    for (const v of delta) dn += v * v;
    dn = Math.sqrt(dn);
    if (dn > radius) for (let j = 0; j < per; j++) delta[j] = ((delta[j] as number) * radius) / dn;
  }
  return delta;
}
