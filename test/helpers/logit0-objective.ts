import { clipLogits, encodeImage, encodeText, type TextInput } from '../../engine/clip/clip-forward.js';
import type { Objective } from '../../engine/train/objective.js';

/**
 * sum_n logits[n, 0] with the pixels as the trained variable `pixels`: the quantity whose pixel gradient the
 * PyTorch fixtures record (`grad_pixels_logit0`).
 */
export function logit0PixelObjective(text: TextInput, logitScale: number): Objective {
  return {
    name: 'logit0',
    build({ ops, clip, vars }) {
      const logits = clipLogits(
        ops,
        encodeImage(clip!, vars.pixels!).embeds,
        encodeText(clip!, text),
        logitScale,
      );
      const [n] = ops.shape(logits) as [number];
      return { loss: ops.sum(ops.slice(logits, [0, 0], [n, 1]), [0, 1]) };
    },
  };
}
