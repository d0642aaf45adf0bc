import { clipLogits } from '../clip/clip-forward.js';
import { encodeImageResNet } from '../clip/resnet-forward.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../train/objective.js';

/**
 * Grad-CAM probe of a ResNet CLIP at its last stage (layer4), as Grad-CAM is usually shown for CNNs.
 * Variable `probe` [N, h, w, C] (zeros) is added to layer4's output before the attention pool; the gradient
 * of sum_i logit_i[class_i] w.r.t. it is the gradient w.r.t. that map. Batch: `pixels`, `classText` [C, E],
 * `select` [N, C]. Metric `activation` is layer4's map [N, h, w, C] (channels last).
 */
export function resnetGradCamObjective(options: { readonly logitScale: number }): Objective {
  return {
    name: 'gradcam-resnet-layer4',
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('Grad-CAM needs a CLIP model');
      let activation: T | undefined;
      const { embeds } = encodeImageResNet(clip, batch.pixels!, {
        layer4: (map) => (activation = ops.add(map, vars.probe!)),
      });
      const logits = clipLogits(ops, embeds, batch.classText!, options.logitScale);
      const loss = ops.sum(ops.mul(logits, batch.select!), [0, 1]);
      return { loss, metrics: { activation: activation!, logits } };
    },
  };
}
