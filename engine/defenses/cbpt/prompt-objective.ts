import { encodeText, type TextInput } from '../../clip/clip-forward.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../../train/objective.js';
import { cbptPromptLoss, classProbabilities } from './cbpt-losses.js';

/**
 * CBPT prompt tuning (METHODS 4.2 step 2) as an objective. Variable: `context` [C, M, W]. Batch: `clean` [N,E]
 * = E_I(v), `perturbed` [N,E] = E_I(v + delta*) (both from the frozen image tower, so only the text tower is
 * differentiated), `labels` and `pseudoTargets` one-hot [N,C]. The class prompts are fixed for the run.
 */
export function cbptPromptObjective(options: {
  readonly classPrompts: TextInput;
  readonly logitScale: number;
  readonly alpha: number;
  readonly lambdas: readonly [number, number, number];
  readonly benignOnly: boolean;
}): Objective {
  const scale = Math.exp(options.logitScale);
  return {
    name: options.benignOnly ? 'cbpt-prompts-warmup' : 'cbpt-prompts',
    build<T>({ ops, clip, vars, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('CBPT prompt tuning needs a CLIP model');
      const classText = encodeText(clip, options.classPrompts, { vectors: vars.context! });
      const { loss, bn, adv, align } = cbptPromptLoss(ops, {
        cleanProbs: classProbabilities(ops, batch.clean!, classText, scale),
        perturbedProbs: classProbabilities(ops, batch.perturbed!, classText, scale),
        labels: batch.labels!,
        pseudoTargets: batch.pseudoTargets!,
        alpha: options.alpha,
        lambdas: options.lambdas,
        benignOnly: options.benignOnly,
      });
      return { loss, metrics: { bn, adv, align } };
    },
  };
}
