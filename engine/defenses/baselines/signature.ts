import type { ParamValues } from '../../methods/params.js';
import type { DefenseContext } from '../defense.js';
import type { FewShotSet } from './few-shot-set.js';

/** What a checkpoint must have been made with to be resumed: model, data, sample and every parameter. */
export function baselineSignature(
  context: DefenseContext,
  params: ParamValues,
  set: FewShotSet,
): Record<string, unknown> {
  return {
    model: context.weights.source.fingerprint,
    dataset: context.dataset.fingerprint,
    shots: context.shots,
    seed: context.seed,
    images: set.size,
    params,
  };
}
