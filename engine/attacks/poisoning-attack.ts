import { resolveParams, type ParamValues } from '../methods/params.js';
import type { TriggerFamily } from '../triggers/trigger.js';
import type { AttackMethod } from './attack.js';
import { POISON_PARAMS, poisonFineTune, type PoisonSelection } from './poison-finetune.js';

/** A poisoning attack = a trigger family + poisoned fine-tuning (METHODS 3.1); parameters are both sets. */
export function poisoningAttack(
  family: TriggerFamily,
  meta: {
    id?: string;
    title?: string;
    summary?: string;
    selection?: PoisonSelection;
    poisonDefaults?: Partial<Record<string, number>>;
  } = {},
): AttackMethod {
  const poisonParams = Object.fromEntries(
    Object.entries(POISON_PARAMS).map(([k, spec]) => {
      const d = meta.poisonDefaults?.[k];
      return [
        k,
        d !== undefined && (spec.kind === 'number' || spec.kind === 'integer')
          ? { ...spec, default: d }
          : spec,
      ];
    }),
  );
  const id = meta.id ?? family.id;
  return {
    id,
    title: meta.title ?? family.title,
    kind: 'attack',
    summary:
      meta.summary ??
      `${family.summary} Poisons a share of the training pairs and fine-tunes the whole CLIP.`,
    paper: family.paper,
    params: { ...family.params, ...poisonParams },
    async run(context, params: ParamValues) {
      const triggerParams = resolveParams(
        id,
        family.params,
        Object.fromEntries(Object.entries(params).filter(([k]) => k in family.params)),
      );
      const trigger = family.create({
        params: triggerParams,
        seed: context.seed,
        resolution: context.weights.config.vision.imageResolution,
      });
      return poisonFineTune(context, trigger, params, meta.selection);
    },
  };
}
