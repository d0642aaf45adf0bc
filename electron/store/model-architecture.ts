import type { ModelArchitecture } from '../api/contract.js';
import { summarizeFileScan, type WeightFileScan } from '../../engine/clip/checkpoints/file-scan.js';
import { describeConfig } from '../../engine/clip/config.js';
import { parameterCount, type ClipWeights } from '../../engine/clip/weights.js';

/** The architecture summary the project lists for a model. */
export function modelArchitecture(weights: ClipWeights, fileScan?: WeightFileScan): ModelArchitecture {
  const { resnet, ...vision } = weights.config.vision;
  return {
    description: describeConfig(weights.config),
    embedDim: weights.config.embedDim,
    vision: { ...vision, ...(resnet ? { resnet: { stageBlocks: [...resnet.stageBlocks] } } : {}) },
    text: { ...weights.config.text },
    parameters: parameterCount(weights),
    dtypes: [...weights.source.dtypes],
    naming: weights.source.naming,
    ...(fileScan
      ? {
          fileScan: {
            format: fileScan.format,
            verdict: fileScan.verdict,
            callables: fileScan.callables.map((c) => ({ name: c.name, allowed: c.allowed, count: c.count })),
            summary: summarizeFileScan(fileScan),
          },
        }
      : {}),
  };
}
