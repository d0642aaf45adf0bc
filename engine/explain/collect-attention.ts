import { createTrainer, type TrainingExecutorKind } from '../train/create-trainer.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { ExplainModel } from './explainer.js';
import { concatRows, normalizedCopy, sliceRows } from './vit-inputs.js';
import { attentionObjective } from './vit-probes.js';

/** Attention weights of every vision block, [N, heads, T, T] per block, for [0, 1] images. */
export async function collectAttention(
  model: ExplainModel,
  pixels01: HostTensor,
  options: { readonly batchSize?: number; readonly executor?: TrainingExecutorKind } = {},
): Promise<HostTensor[]> {
  const layers = model.weights.config.vision.layers;
  const trainer = await createTrainer(
    attentionObjective({ promptDepth: model.prompts?.depth ?? null }),
    model.weights,
    options.executor,
  );
  const n = pixels01.shape[0] as number;
  const batchSize = options.batchSize ?? 32;
  const perBlock: HostTensor[][] = Array.from({ length: layers }, () => []);
  try {
    for (let from = 0; from < n; from += batchSize) {
      const count = Math.min(batchSize, n - from);
      const out = await trainer.evaluate(
        {},
        {
          pixels: normalizedCopy(sliceRows(pixels01, from, count)),
          ...(model.prompts ? { prompts: model.prompts.tensors } : {}),
        },
      );
      for (let d = 0; d < layers; d++) perBlock[d]!.push(out.metrics[`attention_${d}`]!);
    }
  } finally {
    await trainer.dispose();
  }
  return perBlock.map(concatRows);
}
