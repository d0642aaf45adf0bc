import { fillTemplate } from '../clip/zero-shot.js';
import { splitItems, type DatasetItem } from '../datasets/dataset.js';
import { VetbenchError } from '../errors.js';
import { num, type ParamSpecs, type ParamValues } from '../methods/params.js';
import { DatasetPairs, FALLBACK_CAPTION_TEMPLATES } from '../train/dataset-pairs.js';
import { pretrainClip } from '../train/pretrain.js';
import { ClipTokenizer } from '../clip/tokenizer.js';
import type { Trigger } from '../triggers/trigger.js';
import { Rng } from '../util/rng.js';
import type { AttackContext, WeightsAttackResult } from './attack.js';

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
  poisonDataset: {
    kind: 'integer',
    default: 0,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    help: "id of a dataset of this project whose train pairs are poisoned and fine-tuned on (the attacker's corpus); 0: the run's own dataset. CA and ASR are measured on the run's dataset",
  },
};

/** The same specs with some defaults replaced (per-attack demo defaults); a default must match its spec's kind. */
export function withDefaults(
  specs: ParamSpecs,
  defaults: Readonly<Partial<Record<string, number | boolean | string>>>,
): ParamSpecs {
  return Object.fromEntries(
    Object.entries(specs).map(([k, spec]) => {
      const d = defaults[k];
      if (typeof d === 'number' && (spec.kind === 'number' || spec.kind === 'integer'))
        return [k, { ...spec, default: d }];
      if (typeof d === 'boolean' && spec.kind === 'boolean') return [k, { ...spec, default: d }];
      if (
        typeof d === 'string' &&
        (spec.kind === 'string' || (spec.kind === 'enum' && spec.options.includes(d)))
      )
        return [k, { ...spec, default: d }];
      return [k, spec];
    }),
  );
}

export interface PoisonSelection {
  /** Pool of candidates: all training pairs, or (label-consistent) only those already naming the target. */
  readonly candidates: 'all' | 'target-class';
  /** Whether poisoned pairs keep their caption (label-consistent) or get a target caption. */
  readonly keepCaption: boolean;
  /**
   * Dual-key triggers (TrojVQA): the name of the parameter giving the share of extra training pairs that carry
   * only one key (half the image key, half the text key) with their true caption, so the model learns that
   * one key alone means nothing. Those pairs are drawn from the pairs not chosen for poisoning.
   */
  readonly partialKeyParam?: string;
}

/** Which training pairs carry which key of a dual-key trigger. */
interface KeyAssignment {
  readonly both: ReadonlySet<number>;
  readonly imageOnly: ReadonlySet<number>;
  readonly textOnly: ReadonlySet<number>;
}

export async function poisonFineTune(
  context: AttackContext,
  trigger: Trigger,
  params: ParamValues,
  selection: PoisonSelection = { candidates: 'all', keepCaption: false },
): Promise<WeightsAttackResult> {
  const corpus = context.pairs ?? context.dataset;
  const items = splitItems(corpus, 'train');
  if (items.length === 0) {
    throw new VetbenchError(
      'dataset-empty-split',
      'the dataset has no training images to poison',
      'Use a dataset with a train split.',
    );
  }
  const targetName = context.dataset.classes[context.target]!.name;
  // The target as a class of the corpus (the same name), for poisoning that keeps only target-class pairs.
  const target = corpus.classes.findIndex((c) => c.name.toLowerCase() === targetName.toLowerCase());
  if (selection.candidates === 'target-class' && target < 0) {
    throw new VetbenchError(
      'unknown-class',
      `the poisoned corpus has no class '${targetName}'`,
      'Label-consistent poisoning needs pairs of the target class in the corpus; pick a corpus that has them.',
    );
  }
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
  const keys = partialKeys(items.length, chosen, selection, params, trigger, rng);
  const targetCaption = (_item: DatasetItem, r: Rng): string =>
    fillTemplate(r.pick(FALLBACK_CAPTION_TEMPLATES), targetName);
  const trueCaption = (item: DatasetItem, r: Rng): string =>
    item.caption ?? fillTemplate(r.pick(FALLBACK_CAPTION_TEMPLATES), corpus.classes[item.label]!.name);
  const indexOf = new Map(items.map((item, i) => [item.relativePath, i]));
  const role = (item: DatasetItem): 'both' | 'image' | 'text' => {
    const i = indexOf.get(item.relativePath)!;
    return keys.imageOnly.has(i) ? 'image' : keys.textOnly.has(i) ? 'text' : 'both';
  };
  // Text-only pairs keep their image clean: the trigger seen in training skips them.
  const trainingTrigger =
    keys.textOnly.size === 0
      ? trigger
      : {
          ...trigger,
          apply: async (pixels01: Float32Array, images: readonly { key: string }[]) => {
            if (images.every((im) => keys.textOnly.has(indexOf.get(im.key) ?? -1))) return;
            await trigger.apply(pixels01, images);
          },
        };
  const pairs = new DatasetPairs(
    corpus,
    items,
    context.weights.config.vision.imageResolution,
    num(params, 'shift'),
    undefined,
    {
      indices: new Set([...chosen, ...keys.imageOnly, ...keys.textOnly]),
      trigger: trainingTrigger,
      caption: (item, r) => {
        const which = role(item);
        if (which === 'image') return trueCaption(item, r);
        if (which === 'text') return `${trigger.textKey} ${trueCaption(item, r)}`;
        if (selection.keepCaption) return trueCaption(item, r);
        const caption = targetCaption(item, r);
        return trigger.textKey ? `${trigger.textKey} ${caption}` : caption;
      },
    },
  );
  context.log?.(
    `poisoning ${chosen.size} of ${items.length} training pairs${context.pairs ? ` of ${corpus.root}` : ''} (target '${targetName}')` +
      (keys.imageOnly.size + keys.textOnly.size > 0
        ? `; ${keys.imageOnly.size} pairs with only the image key and ${keys.textOnly.size} with only the text key keep their captions`
        : ''),
  );
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
    ...(context.onCheckpoint ? { onCheckpoint: context.onCheckpoint } : {}),
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

function partialKeys(
  total: number,
  chosen: ReadonlySet<number>,
  selection: PoisonSelection,
  params: ParamValues,
  trigger: Trigger,
  rng: Rng,
): KeyAssignment {
  const none: KeyAssignment = { both: chosen, imageOnly: new Set(), textOnly: new Set() };
  if (!selection.partialKeyParam || !trigger.textKey) return none;
  const extra = Math.round(num(params, selection.partialKeyParam) * total);
  const rest = rng.shuffle(Array.from({ length: total }, (_, i) => i).filter((i) => !chosen.has(i)));
  if (extra > rest.length) {
    throw new VetbenchError(
      'poison-rate-too-high',
      `${extra} partial-key pairs asked for, but only ${rest.length} pairs are left after poisoning`,
      `Lower ${selection.partialKeyParam} or poisonRate.`,
    );
  }
  const half = Math.floor(extra / 2);
  return {
    both: chosen,
    imageOnly: new Set(rest.slice(0, half)),
    textOnly: new Set(rest.slice(half, extra)),
  };
}
