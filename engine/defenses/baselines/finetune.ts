import { createEncoder } from '../../clip/clip-encoder.js';
import { clipLogits, encodeImage, PATCH_WEIGHT } from '../../clip/clip-forward.js';
import { buildZeroShotHead, DEFAULT_TEMPLATE } from '../../clip/zero-shot.js';
import { num, type ParamSpecs, type ParamValues } from '../../methods/params.js';
import { crossEntropyWithTargets, oneHot } from '../../tensor/ops.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import { clipTrainableTensors } from '../../train/contrastive-objective.js';
import { createTrainer } from '../../train/create-trainer.js';
import type { Objective, ObjectiveContext, ObjectiveOutput } from '../../train/objective.js';
import { AdamW, excludedFromDecay } from '../../train/optimizers.js';
import { warmupCosine } from '../../train/schedules.js';
import type { DefenseContext, DefenseMethod, DefenseResult } from '../defense.js';
import { runEpochLoop } from './epoch-loop.js';
import { FewShotSet, modelInput } from './few-shot-set.js';
import { cropFlipInPlace } from './image-augment.js';
import { baselineSignature } from './signature.js';
import { mergedWeights } from './weights-output.js';

/**
 * Supervised fine-tuning (FT, METHODS 4.3): every weight of the image tower is trained with CE over the
 * zero-shot head of one template ("a photo of a <class>.", computed once; the text tower stays frozen) on the
 * clean K-shot set, AdamW without decay on norms, biases and embeddings, warm-up then cosine.
 */
export const FINETUNE_PARAMS: ParamSpecs = {
  epochs: { kind: 'integer', default: 10, min: 1, max: 1000, help: 'passes over the K-shot set' },
  lr: {
    kind: 'number',
    default: 1e-5,
    min: 0,
    max: 1,
    help: "peak AdamW learning rate (1e-5 keeps the demo model's CA within 1 point; 1e-4 costs 5 points, docs/baselines.md)",
  },
  batchSize: { kind: 'integer', default: 32, min: 2, max: 4096, help: 'images per step' },
  weightDecay: {
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 1,
    help: 'AdamW weight decay (not on norms, biases, embeddings)',
  },
  warmup: { kind: 'integer', default: 5, min: 0, max: 100000, help: 'linear warm-up steps' },
  minCropScale: {
    kind: 'number',
    default: 0.5,
    min: 0.05,
    max: 1,
    help: 'smallest area share of the random resized crop (1 = no crop; flips always on)',
  },
};

/** Trainable image-tower tensors (the patch kernel through its flat view). */
export function imageTowerTensors(all: Readonly<Record<string, HostTensor>>): Record<string, HostTensor> {
  return Object.fromEntries(
    Object.entries(all).filter(([name]) => name.startsWith('visual.') || name === PATCH_WEIGHT),
  );
}

/**
 * CE of s * cos(E_I(x), W_y) with the fixed head W. Variables: image-tower weights by CLIP name. Batch:
 * `pixels` [N,3,R,R], `targets` one-hot [N,C], `classText` [C,E].
 */
export function finetuneObjective(logitScale: number): Objective {
  return {
    name: 'finetune',
    build<T>({ ops, clip, batch }: ObjectiveContext<T>): ObjectiveOutput<T> {
      if (!clip) throw new Error('FT needs a CLIP model');
      const logits = clipLogits(ops, encodeImage(clip, batch.pixels!).embeds, batch.classText!, logitScale);
      return { loss: crossEntropyWithTargets(ops, logits, batch.targets!) };
    },
  };
}

export const finetuneDefense: DefenseMethod = {
  id: 'finetune',
  title: 'Supervised fine-tuning (FT)',
  kind: 'defense',
  summary:
    'Fine-tunes the whole image tower on the clean K-shot images with cross-entropy over the zero-shot text head (text tower frozen). Writes new weights.',
  paper: 'baseline of Zhang et al., RVPT (METHODS 4.3)',
  params: FINETUNE_PARAMS,
  async run(context: DefenseContext, params: ParamValues): Promise<DefenseResult> {
    const started = Date.now();
    const { weights } = context;
    const r = weights.config.vision.imageResolution;
    const set = await FewShotSet.sample(context, r);
    const encoder = await createEncoder(weights);
    const head = await buildZeroShotHead(encoder, set.classNames, [DEFAULT_TEMPLATE]).finally(() =>
      encoder.dispose(),
    );
    const classes = set.classNames.length;
    const decay = num(params, 'weightDecay');
    const epochs = num(params, 'epochs');
    const batchSize = Math.min(num(params, 'batchSize'), set.size);
    const totalSteps = Math.floor(set.size / batchSize) * epochs;
    const minScale = num(params, 'minCropScale');
    const trainer = await createTrainer(finetuneObjective(weights.logitScale), weights, context.executor);
    try {
      const loop = await runEpochLoop(context, {
        method: 'finetune',
        signature: baselineSignature(context, params, set),
        epochs,
        examples: set.size,
        batchSize,
        dropLast: true,
        vars: imageTowerTensors(clipTrainableTensors(weights)),
        optimizer: new AdamW({
          beta2: 0.98,
          eps: 1e-6,
          decayFor: (n) => (excludedFromDecay(n) ? 0 : decay),
        }),
        schedule: warmupCosine(num(params, 'lr'), totalSteps, num(params, 'warmup')),
        async step(vars, indices, rng) {
          const pixels = await set.pixels01(indices);
          cropFlipInPlace(pixels, indices.length, r, rng, minScale);
          const out = await trainer.step(vars, {
            pixels: modelInput(pixels, indices.length, r),
            targets: oneHot(set.labels(indices), classes),
            classText: head.embeddings,
          });
          return { loss: out.loss, metrics: {}, grads: out.grads };
        },
      });
      return {
        output: { kind: 'weights', tensors: mergedWeights(weights, loop.vars) },
        epochMetrics: loop.epochMetrics,
        trainImages: set.size,
        wallMs: Date.now() - started,
      };
    } finally {
      await trainer.dispose();
    }
  },
};
