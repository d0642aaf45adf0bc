import type { ClipWeights } from '../../clip/weights.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import { trainedToCanonical } from '../../train/contrastive-objective.js';

/** Every tensor of the model under its canonical name: the trained ones replaced, the frozen ones as loaded. */
export function mergedWeights(
  weights: ClipWeights,
  trained: Readonly<Record<string, HostTensor>>,
): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>(weights.tensors);
  for (const [name, t] of trainedToCanonical(trained, weights)) out.set(name, t);
  return out;
}

/** exp(logit_scale) of trained weights is clamped to [1, 100], as in CLIP training. */
export const MAX_LOG_SCALE = Math.log(100);

export function clampLogitScale(vars: Record<string, HostTensor>): void {
  const s = vars.logit_scale?.data;
  if (s) s[0] = Math.min(MAX_LOG_SCALE, Math.max(0, s[0] as number));
}
