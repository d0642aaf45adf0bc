import { resolveParams, type ParamValues } from '../methods/params.js';
import type { TriggerFamily } from '../triggers/trigger.js';
import type { AttackMethod, WeightsAttackResult } from './attack.js';
import { POISON_PARAMS, poisonFineTune, withDefaults, type PoisonSelection } from './poison-finetune.js';

/** A poisoning attack = a trigger family + poisoned fine-tuning (METHODS 3.1); parameters are both sets. */
export function poisoningAttack(
  family: TriggerFamily,
  meta: {
    id?: string;
    title?: string;
    summary?: string;
    selection?: PoisonSelection;
    poisonDefaults?: Partial<Record<string, number>>;
    /** Demo defaults of the trigger's own parameters (e.g. a larger patch at 32 px). */
    triggerDefaults?: Partial<Record<string, number | boolean | string>>;
  } = {},
): AttackMethod<WeightsAttackResult> {
  const poisonParams = withDefaults(POISON_PARAMS, meta.poisonDefaults ?? {});
  const triggerParams = withDefaults(family.params, meta.triggerDefaults ?? {});
  const id = meta.id ?? family.id;
  return {
    id,
    title: meta.title ?? family.title,
    kind: 'attack',
    summary:
      meta.summary ??
      `${family.summary} Poisons a share of the training pairs and fine-tunes the whole CLIP.`,
    paper: family.paper,
    params: { ...triggerParams, ...poisonParams },
    async run(context, params: ParamValues) {
      const triggerValues = resolveParams(
        id,
        triggerParams,
        Object.fromEntries(Object.entries(params).filter(([k]) => k in family.params)),
      );
      const trigger = family.create({
        params: triggerValues,
        seed: context.seed,
        resolution: context.weights.config.vision.imageResolution,
      });
      return poisonFineTune(context, trigger, params, meta.selection);
    },
  };
}
