import { num, resolveParams, str, type ParamSpecs, type ParamValues } from '../methods/params.js';
import { scaledPatchSize } from '../triggers/patch.js';
import type { TriggerFamily } from '../triggers/trigger.js';
import type { AttackContext, AttackMethod, AttackResult } from './attack.js';
import { POISON_PARAMS, poisonFineTune, withDefaults, type PoisonSelection } from './poison-finetune.js';
import { optimiseTriggerPatch, type PatchOptimisationResult } from './patch-optimisation.js';

/** Parameters of the patch optimisation (METHODS 3.2: Adam lr 1e-3, batch 64). */
export const PATCH_OPTIMISATION_PARAMS: ParamSpecs = {
  patchEpochs: {
    kind: 'integer',
    default: 5,
    min: 0,
    max: 1000,
    help: 'passes over the clean non-target training images while optimising the patch',
  },
  patchLr: { kind: 'number', default: 1e-3, min: 0, max: 10, help: 'Adam learning rate of the patch' },
  patchBatchSize: { kind: 'integer', default: 64, min: 1, max: 4096, help: 'images per patch step' },
  patchImages: {
    kind: 'integer',
    default: 0,
    min: 0,
    max: 10_000_000,
    help: 'at most this many clean non-target training images (a seeded subset) for the patch; 0 = all',
  },
  imageWeight: {
    kind: 'number',
    default: 1,
    min: 0,
    max: 100,
    help: 'weight of the image guidance (toward target images, away from the clean image); 0 = text guidance only',
  },
};

/**
 * An attack whose trigger is a patch optimised against the model, then used to poison it (METHODS 3.1):
 * BadCLIP dual-embedding (InfoNCE toward the target's captions) and TrojVQA (toward one guide text, plus a
 * text key). The patch optimisation's losses go to the log and into the result.
 */
export function optimisedPatchAttack(
  family: TriggerFamily,
  meta: {
    readonly title: string;
    readonly summary: string;
    readonly textMode: 'infonce' | 'cosine';
    readonly selection?: PoisonSelection;
    readonly defaults?: Partial<Record<string, number>>;
    /** Extra attack parameters beyond the trigger, patch and poisoning ones. */
    readonly extraParams?: ParamSpecs;
  },
): AttackMethod {
  const patchParams =
    meta.textMode === 'cosine'
      ? withDefaults(PATCH_OPTIMISATION_PARAMS, { imageWeight: 0 })
      : PATCH_OPTIMISATION_PARAMS;
  const params = withDefaults(
    { ...family.params, ...patchParams, ...POISON_PARAMS, ...(meta.extraParams ?? {}) },
    meta.defaults ?? {},
  );
  return {
    id: family.id,
    title: meta.title,
    kind: 'attack',
    summary: meta.summary,
    paper: family.paper,
    params,
    async run(context: AttackContext, values: ParamValues): Promise<AttackResult> {
      const resolution = context.weights.config.vision.imageResolution;
      const triggerParams = resolveParams(
        family.id,
        family.params,
        Object.fromEntries(Object.entries(values).filter(([k]) => k in family.params)),
      );
      const size = scaledPatchSize(num(triggerParams, 'patchSize'), resolution);
      context.log?.(`optimising a ${size}x${size} centre patch (${meta.textMode} text guidance)`);
      const optimised: PatchOptimisationResult = await optimiseTriggerPatch({
        weights: context.weights,
        dataset: context.dataset,
        target: context.target,
        seed: context.seed,
        size,
        epochs: num(values, 'patchEpochs'),
        lr: num(values, 'patchLr'),
        batchSize: num(values, 'patchBatchSize'),
        maxImages: num(values, 'patchImages'),
        textMode: meta.textMode,
        ...('guideText' in triggerParams ? { guideText: str(triggerParams, 'guideText') } : {}),
        imageWeight: num(values, 'imageWeight'),
        ...(context.executor ? { executor: context.executor } : {}),
        ...(context.signal ? { signal: context.signal } : {}),
        ...(context.log ? { log: context.log } : {}),
      });
      context.log?.(
        `trigger patch: loss ${optimised.initialLoss.toFixed(4)} -> ${optimised.finalLoss.toFixed(4)} on ${optimised.images} images, ${optimised.steps} steps`,
      );
      const trigger = family.create({
        params: triggerParams,
        seed: context.seed,
        resolution,
        restore: { patch: { data: optimised.patch, shape: [3, size, size] } },
      });
      const poisoned = await poisonFineTune(context, trigger, values, meta.selection);
      return {
        ...poisoned,
        details: {
          patch_initial_loss: optimised.initialLoss,
          patch_final_loss: optimised.finalLoss,
          patch_epoch_losses: optimised.epochLosses,
          patch_images: optimised.images,
          patch_wall_ms: optimised.wallMs,
        },
      };
    },
  };
}
