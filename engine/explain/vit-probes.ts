import {
  clipLogits,
  encodeImage,
  visionBlocks,
  visionHead,
  visionStem,
  type VisionOptions,
} from '../clip/clip-forward.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../train/objective.js';

/**
 * Programs that look inside the image tower, run by a training executor (onnxruntime by default) so the same
 * traced graph gives activations and gradients.
 *
 * Batch inputs: `pixels` [N,3,R,R] normalised; `prompts` [L-D,b,W] when deep visual prompts are used.
 */
function visionOptions<T>(batch: Readonly<Record<string, T>>, promptDepth: number | null): VisionOptions<T> {
  const prompts = batch.prompts;
  if (promptDepth === null || prompts === undefined) return {};
  return { prompts: { depth: promptDepth, tensors: prompts } };
}

/**
 * Grad-CAM probe. Variable `probe` [N, T, W] (zeros) is added to the token sequence after block `block`;
 * the gradient of sum_i logit_i[class_i] w.r.t. it equals the gradient w.r.t. that activation, because the
 * sum is separable over images. Batch: `pixels`, `classText` [C, E] (the class head), `select` [N, C] one-hot
 * of the explained class per image. Metric `activation` is the block's output [N, T, W].
 */
export function gradCamObjective(options: {
  readonly block: number;
  readonly logitScale: number;
  readonly promptDepth: number | null;
}): Objective {
  return {
    name: `gradcam-b${options.block}`,
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('Grad-CAM needs a CLIP model');
      const layers = clip.config.vision.layers;
      const opts = visionOptions(batch, options.promptDepth);
      const sink = { cls: [] as T[], attentions: [] as T[], tokens: [] as T[] };
      let x = visionStem(clip, batch.pixels!);
      x = visionBlocks(clip, x, 0, options.block + 1, opts, sink);
      const activation = ops.add(x, vars.probe!);
      x = visionBlocks(clip, activation, options.block + 1, layers, opts, sink);
      const logits = clipLogits(ops, visionHead(clip, x), batch.classText!, options.logitScale);
      const loss = ops.sum(ops.mul(logits, batch.select!), [0, 1]);
      return { loss, metrics: { activation, logits } };
    },
  };
}

/**
 * Attention probe: every block's attention weights [N, heads, T, T] as metrics `attention_<d>`, and the image
 * embeddings. Evaluated without gradients.
 */
export function attentionObjective(options: { readonly promptDepth: number | null }): Objective {
  return {
    name: 'attention-all',
    build<T>({ ops, clip, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('attention maps need a CLIP model');
      const vision = encodeImage(clip, batch.pixels!, {
        ...visionOptions(batch, options.promptDepth),
        collectAttention: 'all',
      });
      const metrics: Record<string, T> = { embeds: vision.embeds };
      vision.attentions.forEach((a, d) => (metrics[`attention_${d}`] = a));
      return { loss: ops.sum(vision.embeds, [0, 1]), metrics };
    },
  };
}
