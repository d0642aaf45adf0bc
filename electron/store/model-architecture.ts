import type { ModelArchitecture } from '../api/contract.js';
import { describeConfig } from '../../engine/clip/config.js';
import { parameterCount, type ClipWeights } from '../../engine/clip/weights.js';

/** The architecture summary the project lists for a model. */
export function modelArchitecture(weights: ClipWeights): ModelArchitecture {
  return {
    description: describeConfig(weights.config),
    embedDim: weights.config.embedDim,
    vision: { ...weights.config.vision },
    text: { ...weights.config.text },
    parameters: parameterCount(weights),
    dtypes: [...weights.source.dtypes],
    naming: weights.source.naming,
  };
}
