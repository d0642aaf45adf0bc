import { encodeImage } from '../../clip/clip-forward.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../../train/objective.js';
import { rvptLoss } from './rvpt-loss.js';

/**
 * RVPT training objective. Variables: `prompts` [L-D, b, W]. Batch: `pixels` [N,3,R,R], `targets` one-hot
 * [N, C], `classText` [C, E] (the fixed text head). The frozen pass depends on no variable, so neither
 * executor differentiates it.
 */
export function rvptObjective(options: {
  depth: number;
  alpha: number;
  logitScale: number;
  margin?: number;
}): Objective {
  return {
    name: 'rvpt',
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('RVPT needs a CLIP model');
      const pixels = batch.pixels!;
      const frozen = encodeImage(clip, pixels, { collectCls: true }).cls.slice(1 + options.depth);
      const prompted = encodeImage(clip, pixels, {
        prompts: { depth: options.depth, tensors: vars.prompts! },
        collectCls: true,
      });
      const { loss, ce, fr } = rvptLoss(ops, {
        imageEmbeds: prompted.embeds,
        classText: batch.classText!,
        targets: batch.targets!,
        promptedCls: prompted.cls.slice(1 + options.depth),
        frozenCls: frozen,
        alpha: options.alpha,
        logitScale: options.logitScale,
        ...(options.margin !== undefined ? { margin: options.margin } : {}),
      });
      return { loss, metrics: { ce, fr } };
    },
  };
}
