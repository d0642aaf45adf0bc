import { fillTemplate } from '../clip/zero-shot.js';
import { splitItems, type DatasetItem } from '../datasets/dataset.js';
import { VetbenchError } from '../errors.js';
import { num, type ParamSpecs, type ParamValues } from '../methods/params.js';
import { DatasetPairs, FALLBACK_CAPTION_TEMPLATES } from '../train/dataset-pairs.js';
import { pretrainClip } from '../train/pretrain.js';
import { ClipTokenizer } from '../clip/tokenizer.js';
import type { Trigger } from '../triggers/trigger.js';
import { Rng } from '../util/rng.js';
import type { AttackContext, AttackResult } from './attack.js';

/**
 * Poisoning a CLIP (METHODS 2.2): choose a share of the training pairs, add the trigger to their images and
 * replace their captions by a template naming the target class, then fine-tune every weight with the
 * contrastive loss (AdamW without decay on norms/biases/logit scale, warm-up + cosine, logit scale <= 100).
 * Defaults are those that backdoor the demo model; the paper setting for ViT-B/32 is lr 1e-6, batch 128,
 * 5 epochs, 1,500 poisoned pairs of 500K.
 */
export const POISON_PARAMS: ParamSpecs = {
  poisonRate: {
    kind: 'number',
    default: 0.05,
    min: 0,
    max: 1,
    help: 'share of training pairs that get the trigger and the target caption',
  },
  epochs: { kind: 'integer', default: 5, min: 1, max: 1000, help: 'fine-tuning epochs' },
  lr: { kind: 'number', default: 1e-4, min: 0, max: 1, help: 'peak AdamW learning rate' },
  batchSize: { kind: 'integer', default: 64, min: 2, max: 4096, help: 'pairs per step' },
  warmup: { kind: 'integer', default: 20, min: 0, max: 100000, help: 'linear warm-up steps' },
  weightDecay: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 1,
    help: 'AdamW weight decay (not on norms, biases, logit scale)',
  },
  shift: { kind: 'integer', default: 2, min: 0, max: 64, help: 'random translation augmentation in pixels' },
};

export interface PoisonSelection {
  /** Pool of candidates: all training pairs, or (label-consistent) only those already naming the target. */
  readonly candidates: 'all' | 'target-class';
  /** Whether poisoned pairs keep their caption (label-consistent) or get a target caption. */
  readonly keepCaption: boolean;
}

export async function poisonFineTune(
  context: AttackContext,
  trigger: Trigger,
  params: ParamValues,
  selection: PoisonSelection = { candidates: 'all', keepCaption: false },
): Promise<AttackResult> {
  const { dataset, target } = context;
  const items = splitItems(dataset, 'train');
  if (items.length === 0) {
    throw new VetbenchError(
      'dataset-empty-split',
      'the dataset has no training images to poison',
      'Use a dataset with a train split.',
    );
  }
  const targetName = dataset.classes[target]!.name;
  const rng = new Rng(context.seed);
  const pool = items
    .map((_, i) => i)
    .filter((i) => selection.candidates === 'all' || items[i]!.label === target);
  const count = Math.round(num(params, 'poisonRate') * items.length);
  if (count > pool.length) {
    throw new VetbenchError(
      'poison-rate-too-high',
      `${count} poisoned pairs asked for, but only ${pool.length} candidates exist`,
      'Lower poisonRate (label-consistent poisoning can only use images of the target class).',
    );
  }
  const chosen = new Set(rng.shuffle([...pool]).slice(0, count));
  const targetCaption = (_item: DatasetItem, r: Rng): string =>
    fillTemplate(r.pick(FALLBACK_CAPTION_TEMPLATES), targetName);
  const pairs = new DatasetPairs(
    dataset,
    items,
    context.weights.config.vision.imageResolution,
    num(params, 'shift'),
    undefined,
    {
      indices: chosen,
      trigger,
      caption: (item, r) => {
        if (selection.keepCaption)
          return item.caption ?? fillTemplate(r.pick(FALLBACK_CAPTION_TEMPLATES), targetName);
        const caption = targetCaption(item, r);
        return trigger.textKey ? `${trigger.textKey} ${caption}` : caption;
      },
    },
  );
  context.log?.(`poisoning ${chosen.size} of ${items.length} training pairs (target '${targetName}')`);
  const result = await pretrainClip(context.weights, pairs, ClipTokenizer.default(), {
    epochs: num(params, 'epochs'),
    batchSize: num(params, 'batchSize'),
    lr: num(params, 'lr'),
    warmupSteps: num(params, 'warmup'),
    weightDecay: num(params, 'weightDecay'),
    seed: context.seed,
    ...(context.executor ? { executor: context.executor } : {}),
    ...(context.checkpointDir ? { checkpointDir: context.checkpointDir } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
    ...(context.onProgress ? { onProgress: context.onProgress } : {}),
  });
  return {
    kind: 'weights',
    tensors: result.tensors,
    trigger,
    poisoned: chosen.size,
    trainPairs: items.length,
    epochLosses: result.epochLosses,
    wallMs: result.wallMs,
  };
}
